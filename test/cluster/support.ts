import calculateSlot from 'cluster-key-slot';
import { RedisCacheStore, type RedisCacheStoreOptions } from '@restash/core';
import { metadataKey } from '../../packages/core/src/store/redis/layout';
import { waitFor, type ClusterHandle } from '../harness';

// Helpers shared by the cluster test files.

/**
 * A store on `cluster` (tracking on, as by default), reporting into `errors`. With `patient`, its
 * commands time out after 2 s instead of the default 250 ms: for tests about behaviour rather
 * than failures, so that a loaded CI machine does not turn a slow reply into a miss.
 */
export function clusterStore(
  cluster: ClusterHandle,
  errors: unknown[],
  options: RedisCacheStoreOptions = {},
  { patient = true }: { patient?: boolean } = {},
): RedisCacheStore {
  return new RedisCacheStore({
    cluster: {
      nodes: cluster.startupNodes,
      options: {
        keyPrefix: cluster.keyPrefix,
        ...(patient ? { redisOptions: { commandTimeout: 2000 } } : {}),
      },
    },
    errorCallback: (err) => errors.push(err),
    ...options,
  });
}

/** The hash slot of the metadata key of cache key `key`. */
export function slotOf(cluster: ClusterHandle, key: string): number {
  return calculateSlot(cluster.keyPrefix + metadataKey(key));
}

/** Cache keys (`<stem><n>`) whose entries live on the master on `port`. */
export async function keysOn(
  cluster: ClusterHandle,
  port: number,
  count: number,
  stem = 'k',
): Promise<string[]> {
  const master = (await cluster.topology()).find((n) => n.port === port);
  if (!master) throw new Error(`no node on ${port}`);
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const slot = slotOf(cluster, `${stem}${i}`);
    if (master.slots.some(([a, b]) => slot >= a && slot <= b)) found.push(`${stem}${i}`);
  }
  return found;
}

/**
 * EVALSHA calls summed over the cluster's nodes: one per script the store runs (a NOSCRIPT reply
 * counts too, and its EVAL fallback is counted apart).
 */
export async function evalshaCount(cluster: ClusterHandle): Promise<number> {
  return (await cluster.commandStats()).evalsha ?? 0;
}

/** Whether `store.get(key)` answers `value` without any script run in the cluster. */
export async function servedLocally(
  cluster: ClusterHandle,
  store: RedisCacheStore,
  key: string,
  value: string,
): Promise<boolean> {
  const before = await evalshaCount(cluster);
  return (await store.get(key))?.value === value && (await evalshaCount(cluster)) === before;
}

/**
 * Waits until the local tier answers `value`. After a write, the invalidation for it may arrive
 * after a read that already saw the new value and drop that copy: the copy that sticks is the one
 * filled after the message.
 */
export async function untilLocal(
  cluster: ClusterHandle,
  store: RedisCacheStore,
  key: string,
  value: string,
  timeoutMs = 8000,
): Promise<void> {
  await waitFor(
    () => servedLocally(cluster, store, key, value),
    timeoutMs,
    `${key}=${value} served locally`,
  );
}

/** Resolves once every master has `perMaster` clients with tracking redirected somewhere. */
export async function trackingReady(cluster: ClusterHandle, perMaster: number): Promise<void> {
  await waitFor(
    async () => {
      for (const master of await cluster.masters()) {
        const list = await cluster.onNode(master.port, (c) => c.client('LIST') as Promise<string>);
        const tracked = list
          .split('\n')
          .filter((line) => / flags=\S*t\S* /.test(line) && !/ redir=-1 /.test(line));
        if (tracked.length < perMaster) return false;
      }
      return true;
    },
    10_000,
    `${perMaster} tracking client(s) on every master`,
  );
}

/** Messages of the errors a store reported, for assertions. */
export function messages(errors: unknown[]): string[] {
  return errors.map((err) => (err instanceof Error ? err.message : String(err)));
}
