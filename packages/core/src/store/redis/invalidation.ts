import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { BUCKETS, clockKey, type Scopes } from './layout.js';
import { isCluster } from './options.js';
import { INVALIDATE, INVALIDATE_NODE, runScript, type Script } from './scripts.js';

/**
 * Entries one INVALIDATE call removes at most: each costs a handful of commands inside the
 * script, so a call stays a few milliseconds long however large the tag, well inside the command
 * timeout; the tag's versions are deleted by the first call already.
 */
const REMOVALS_PER_CALL = 2000;

/** One script call's worth of an invalidation: where it runs and which scopes it covers. */
interface Target {
  conn: Redis | Cluster;
  /** Declared keys, for routing only (a cluster client routes by the first key). */
  keys: string[];
  scopes: readonly number[];
  script: Script;
}

/**
 * Invalidates `tags` in every scope: deletes their versions (from then on no entry carrying one is
 * valid, wherever it is stored or cached) and removes the entries the indexes list. Nothing here
 * depends on a key Redis may have dropped: an evicted version already reads as invalidated, an
 * evicted index only leaves entries for their TTL or next read to reclaim.
 *
 * On a single Redis (or a cluster pinned to one slot) that is one script; on a spread cluster one
 * script per master covering the buckets it serves, falling back to one script per bucket, routed
 * by the cluster client, when the slot map it was planned with is out of date.
 *
 * Resolves the removed entries' index members (`<bucket>:<key>`); rejects if a part failed, after
 * the other parts ran.
 */
export async function invalidateScopes(
  client: Redis | Cluster,
  prefix: string,
  scopes: Scopes,
  tags: readonly (string | Buffer)[],
): Promise<Buffer[]> {
  const removed: Buffer[] = [];
  const run = async (target: Target): Promise<void> => {
    const args = [prefix, REMOVALS_PER_CALL, target.scopes.length, ...target.scopes, ...tags];
    for (;;) {
      const [more, ...members] = (await runScript(target.conn, target.script, target.keys, args, {
        buffers: true,
      })) as [number, ...Buffer[]];
      removed.push(...members);
      if (more !== 1) return;
    }
  };
  const results = await Promise.allSettled(
    plan(client, scopes).map(async (target) => {
      try {
        await run(target);
      } catch (err) {
        if (target.script !== INVALIDATE_NODE) throw err;
        // The node no longer serves some of these buckets, or is gone: let the cluster route.
        await Promise.all(target.scopes.map((bucket) => run(bucketTarget(client, bucket))));
      }
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return removed;
}

function plan(client: Redis | Cluster, scopes: Scopes): Target[] {
  const [only, ...more] = scopes.all;
  if (only !== undefined && more.length === 0) {
    const keys = isCluster(client) ? [clockKey(only)] : [];
    return [{ conn: client, keys, scopes: scopes.all, script: INVALIDATE }];
  }
  if (!isCluster(client)) throw new Error('bucket scopes need a cluster');
  const masters = new Map<string, Redis>();
  for (const node of client.nodes('master')) {
    masters.set(`${node.options.host}:${node.options.port}`, node);
  }
  const byNode = new Map<Redis | undefined, number[]>();
  for (const bucket of scopes.all) {
    const node = masters.get(client.slots[BUCKET_SLOTS[bucket] ?? -1]?.[0] ?? '');
    let buckets = byNode.get(node);
    if (!buckets) byNode.set(node, (buckets = []));
    buckets.push(bucket);
  }
  const targets: Target[] = [];
  for (const [node, buckets] of byNode) {
    if (node) targets.push({ conn: node, keys: [], scopes: buckets, script: INVALIDATE_NODE });
    else targets.push(...buckets.map((bucket) => bucketTarget(client, bucket)));
  }
  return targets;
}

function bucketTarget(client: Redis | Cluster, bucket: number): Target {
  return { conn: client, keys: [clockKey(bucket)], scopes: [bucket], script: INVALIDATE };
}

/** The hash slot of each bucket's keys (`…{b}…`). */
const BUCKET_SLOTS = Array.from({ length: BUCKETS }, (_, bucket) => calculateSlot(`{${bucket}}`));
