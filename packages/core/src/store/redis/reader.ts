import type { Cluster, Redis } from 'ioredis';
import type { ErrorReporter } from '../../report.js';
import type { Lookup, ReadOptions } from '../types.js';
import type { CircuitBreaker } from './breaker.js';
import { decodeName, encodeString } from './encoding.js';
import type { FailoverGuard } from './failover.js';
import { KnownValues, type Known } from './known-values.js';
import { bucketOf, metadataKey, metadataName, type Scopes, valueName } from './layout.js';
import { VERSION_TTL_MS, type RedisLease } from './lease.js';
import { versionId, type LocalTier, type Ticket } from './local-tier.js';
import { parseGetReply, type Clock } from './reply.js';
import { GET, runScript } from './scripts.js';
import type { Tracking } from './tracking.js';

// The store's read path: the local tier, the get script (one round trip, tag versions checked in
// it; on a miss the lease and the fill lock with it), and what its reply means — an entry read
// whole, one the store has already (its value id still the stored one), the metadata alone, a
// large value to fetch by a plain GET, or a miss.

/** What the reader works with; the store owns it. */
export interface ReaderParts<M extends object> {
  client: Redis | Cluster;
  prefix: string;
  scopes: Scopes;
  breaker: CircuitBreaker;
  report: ErrorReporter;
  local: LocalTier<M> | undefined;
  tracking: Tracking | undefined;
  failover: FailoverGuard | undefined;
  /** Bounds of the entries kept to read unchanged ones again without their value. */
  maxCount: number;
  maxSize: number;
  /** The wait for the first connection, while there is one. */
  startup(): Promise<void> | undefined;
  /** The store's connection epoch now (a lease taken across a drop is refused). */
  epoch(): number;
  /** A lease of the store, taken by a miss's read. */
  lease(key: string, bucket: number, clock: Clock, sentAt: number, epoch: number): RedisLease;
  /** A fresh fill lock token. */
  token(): string;
  /** Removes an entry whose metadata cannot be read. */
  remove(key: string): void;
}

/** A read as the store asks for it. */
export interface ReadRequest<M extends object> {
  key: string;
  /** On a miss, lease these tags; `undefined`: a plain `get`, no lease. */
  leaseTags: readonly string[] | undefined;
  valueNeeded: ReadOptions<M>['valueNeeded'];
  /** On a miss, take the fill lock for this many ms. */
  lockMs: number | undefined;
}

export class EntryReader<M extends object> {
  readonly #parts: ReaderParts<M>;
  readonly #known: KnownValues<M>;

  constructor(parts: ReaderParts<M>) {
    this.#parts = parts;
    this.#known = new KnownValues<M>(parts.maxCount, parts.maxSize);
  }

  /** Reads an entry; never rejects for Redis trouble (it reports and misses). */
  async read(request: ReadRequest<M>, again = false): Promise<Lookup<M>> {
    const { key, leaseTags, valueNeeded, lockMs } = request;
    const { client, prefix, local, tracking, breaker, failover } = this.#parts;
    // Moving to a new master: what it holds is not vouched for until every write the old one
    // may have lost was written again.
    if (failover && !failover.readable) return { entry: undefined, lease: undefined };
    const bucket = bucketOf(key);
    const localKey = prefix + metadataKey(key, bucket);
    const cached = local?.get(localKey);
    if (cached) return { entry: cached, lease: undefined };
    // Redis timed out again and again: miss at once rather than wait for it (breaker.ts).
    if (!breaker.allow()) return { entry: undefined, lease: undefined };
    const reader = tracking?.readerFor(localKey);
    const ticket = reader && local ? local.begin(localKey) : undefined;
    const scope = this.#parts.scopes.of(bucket);
    const keys = [metadataName(key, bucket)];
    const unread = valueNeeded ? 'm' : '';
    const token = leaseTags && lockMs !== undefined ? this.#parts.token() : '';
    // An entry read whole before: if it is still the one stored, its value need not come again.
    const known = this.#known.get(localKey);
    const args = [prefix, bucket, scope, encodeString(key), VERSION_TTL_MS, unread];
    args.push(token ? (lockMs ?? 0) : 0, token, known?.id ?? '');
    if (leaseTags) for (const tag of leaseTags) args.push(encodeString(tag));
    const epoch = this.#parts.epoch();
    const sentAt = performance.now();
    try {
      const startup = this.#parts.startup();
      if (startup) await startup;
      let reply: unknown;
      let tracked = reader !== undefined;
      try {
        reply = await runScript(reader ?? client, GET, keys, args, { buffers: true });
      } catch (err) {
        if (!reader || !tracking?.redirected(err)) throw err;
        // The reader's cluster node no longer (or not yet) serves this key, so the read was not
        // tracked: ask where the Cluster client routes it, and keep nothing locally.
        tracked = false;
        reply = await runScript(client, GET, keys, args, { buffers: true });
      }
      breaker.record();
      const found = parseGetReply(reply);
      if (found.hit === 'known') {
        if (!known) return { entry: undefined, lease: undefined };
        if (ticket && tracked) this.#fillLocal(ticket, known, found.pttl, scope);
        return { entry: known.entry, lease: undefined };
      }
      if (!found.hit) {
        if (found.broken) {
          this.#parts.report(
            new Error(`removed a broken cache entry (value or field missing): ${key}`),
          );
        }
        const lease =
          leaseTags && found.clock
            ? this.#parts.lease(key, bucket, found.clock, sentAt, epoch)
            : undefined;
        if (!found.lock) return { entry: undefined, lease };
        if (lease && found.lock.state === 'taken') lease.lock = token;
        if (lease) lease.fillLock = found.lock;
        return { entry: undefined, lease, lock: found.lock };
      }
      const metadata = this.#parseMetadata(key, found.metadataJson);
      if (!metadata) return { entry: undefined, lease: undefined };
      if (found.valueId && valueNeeded && !valueNeeded(metadata)) {
        const empty = found.type === 'b' ? Buffer.alloc(0) : '';
        return { entry: { value: empty, metadata, withoutValue: true }, lease: undefined };
      }
      // A large or unread value comes by a plain GET, on the main connection: not tracked, since
      // values never change under an id. Null: replaced or evicted since the script ran; read
      // again.
      const value =
        found.value ??
        (found.valueId && (await client.getBuffer(valueName(found.valueId, bucket))));
      if (value === null || value === undefined) {
        if (again) return { entry: undefined, lease: undefined };
        return this.read({ ...request, valueNeeded: undefined }, true);
      }
      const entry = { value: found.type === 'b' ? value : value.toString(), metadata };
      const size = value.length + found.metadataJson.length;
      const read = { id: String(found.valueId), entry, tags: found.tags, size };
      if (found.valueId) this.#known.remember(localKey, read);
      if (ticket && tracked) this.#fillLocal(ticket, read, found.pttl, scope);
      return { entry, lease: undefined };
    } catch (err) {
      breaker.record(err);
      this.#parts.report(err);
      return { entry: undefined, lease: undefined };
    } finally {
      if (ticket) local?.end(ticket);
    }
  }

  /** Keeps an entry just read (through a tracked connection) in the local tier. */
  #fillLocal(ticket: Ticket, read: Known<M>, pttl: number, scope: number): void {
    const versions = read.tags.map((tag) => versionId(scope, decodeName(tag)));
    this.#parts.local?.fill(ticket, read.entry, read.size, pttl, versions);
  }

  /** An entry's metadata; corrupted metadata removes the entry. */
  #parseMetadata(key: string, metadataJson: Buffer): M | undefined {
    try {
      return JSON.parse(metadataJson.toString()) as M;
    } catch (err) {
      this.#parts.report(
        new Error(`removed a cache entry with corrupted metadata: ${key}`, { cause: err }),
      );
      this.#parts.remove(key);
      return undefined;
    }
  }
}
