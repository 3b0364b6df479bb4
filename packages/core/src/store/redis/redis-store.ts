import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../../report.js';
import { checkEntry, checkKey, checkLookupOptions, checkTags } from '../arguments.js';
import { PASSED_MS } from '../fill-locks.js';
import {
  EntryTooLargeError,
  LEASE_TTL_MS,
  StoreClosedError,
  type CacheEntry,
  type CacheStore,
  type Lease,
  type Lookup,
  type ReadOptions,
} from '../types.js';
import { decodeName, encodeString } from './encoding.js';
import { invalidateScopes } from './invalidation.js';
import {
  BUCKET_SCOPES,
  bucketOf,
  clockKey,
  lockName,
  metadataKey,
  metadataName,
  ONE_SCOPE,
  pinsSlot,
  type Scopes,
  valueName,
} from './layout.js';
import { KnownValues, type Known } from './known-values.js';
import { LocalTier, versionId, type Ticket } from './local-tier.js';
import { applyMessage, forgetTags } from './local-messages.js';
import { connect, quit, waitForReady } from './connection.js';
import {
  asConnection,
  checkOptions,
  isCluster,
  keyPrefixOf,
  type RedisCacheStoreOptions,
} from './options.js';
import { RedisLease } from './lease.js';
import { parseGetReply, parseLeaseReply } from './reply.js';
import { CircuitBreaker } from './breaker.js';
import { preloadScripts } from './preload.js';
import { DELETE, GET, LARGE_VALUE, LEASE, RELEASE, SET, runScript } from './scripts.js';
import { createTracking, type Tracking } from './tracking.js';
import { FailoverGuard } from './failover.js';
import { isSentinel, keepConnected } from './sentinel.js';

/**
 * A version created for a lease outlives it by a margin for clock drift between app and Redis;
 * a stored entry's versions then live as long as the entry.
 */
const VERSION_TTL_MS = LEASE_TTL_MS + 10_000;
/** How long the first commands wait for the initial connection instead of failing at once. */
const STARTUP_WAIT_MS = 1000;
/** Client events after which a lease may have missed a write (see `#epoch`). */
const DROP_EVENTS = ['close', '-node'] as const;
/** How long a large value staged for a write lives if the write's script never runs. */
const STAGED_TTL_MS = 60_000;

/**
 * A {@link CacheStore} on Redis (or Redis Cluster) through ioredis: two keys per entry written
 * and read by one Lua script each, versioned tags, and a local tier kept coherent by CLIENT
 * TRACKING so warm reads cost no round trip. See layout.ts for the key layout.
 *
 * Reads never reject for Redis trouble: they report to `errorCallback` and miss. Writes
 * (`set`, `delete`, `invalidateTags`, `lease`, `setLeased`) reject, so the caller knows the
 * write did not happen.
 */
export class RedisCacheStore<M extends object = Record<string, unknown>> implements CacheStore<M> {
  readonly #client: Redis | Cluster;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #scopes: Scopes;
  readonly #maxEntrySize: number;
  readonly #report: ErrorReporter;
  readonly #local: LocalTier<M> | undefined;
  readonly #known: KnownValues<M>;
  readonly #tracking: Tracking | undefined;
  /** With Sentinel: keeps the store correct across a change of master. */
  readonly #failover: FailoverGuard | undefined;
  /** Bumped whenever the connection drops: a lease spanning a drop may have missed a write. */
  #epoch = 0;
  #startup: Promise<void> | undefined;
  readonly #stopPreload: () => void;
  readonly #breaker: CircuitBreaker;
  /** Ends the startup wait early (on close). */
  #endStartup: (() => void) | undefined;
  /** Fill lock tokens: unique to this store, then numbered. */
  readonly #lockId = randomUUID();
  #locks = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RedisCacheStoreOptions = {}) {
    checkOptions(options);
    this.#report = safeReporter(
      options.errorCallback ?? throttledConsoleReporter('RedisCacheStore'),
    );
    this.#maxEntrySize = options.maxEntrySize ?? 100 * 1024 * 1024;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ? asConnection(options.client) : connect(options);
    this.#prefix = keyPrefixOf(this.#client);
    this.#scopes = isCluster(this.#client) && !pinsSlot(this.#prefix) ? BUCKET_SCOPES : ONE_SCOPE;
    if (this.#ownsClient) this.#client.on('error', this.#report);
    // A cluster emits 'close' only once every node is gone; losing one node (a master dying
    // before its failover) must also refuse the leases that span it.
    for (const event of DROP_EVENTS) this.#client.on(event, this.#onClose);
    this.#stopPreload = preloadScripts(this.#client, this.#report);
    this.#breaker = new CircuitBreaker(this.#report);
    if (this.#client.status !== 'ready') {
      // The first commands wait briefly for the connection instead of failing.
      const { ready, end } = waitForReady(this.#client, STARTUP_WAIT_MS);
      this.#endStartup = end;
      this.#startup = ready.then(() => {
        this.#startup = undefined;
        this.#endStartup = undefined;
      });
    }
    const { maxCount = 10_000, maxSize = 64 * 1024 * 1024 } = options;
    const local = (options.tracking ?? true) ? new LocalTier<M>(maxCount, maxSize) : undefined;
    this.#local = local;
    this.#known = new KnownValues<M>(maxCount, maxSize);
    const sentinel = isSentinel(this.#client) ? this.#client : undefined;
    const failover =
      sentinel &&
      new FailoverGuard(sentinel, options.sentinel, {
        prefix: this.#prefix,
        scopes: this.#scopes,
        report: this.#report,
        flush: () => local?.clear(),
      });
    this.#failover = failover;
    if (sentinel && this.#ownsClient) keepConnected(sentinel, () => this.#closed);
    if (local) {
      this.#tracking = createTracking(
        this.#client,
        {
          invalidate: (keys) =>
            keys ? keys.forEach((name) => applyMessage(local, this.#prefix, name)) : local.clear(),
          reset: () => local.clear(),
          error: this.#report,
        },
        `${this.#prefix}tv:`,
        failover && (() => failover.server),
      );
    }
  }

  async get(key: string): Promise<CacheEntry<M> | undefined> {
    return (await this.#read(key, undefined, undefined)).entry;
  }

  peek(key: string): CacheEntry<M> | undefined {
    this.#assertOpen();
    checkKey(key);
    return this.#local?.get(this.#prefix + metadataKey(key));
  }

  async getOrLease(
    key: string,
    tags: readonly string[] = [],
    options?: ReadOptions<M>,
  ): Promise<Lookup<M>> {
    const lockMs = checkLookupOptions(options);
    checkTags(tags);
    return this.#read(key, tags, options?.valueNeeded, false, lockMs);
  }

  async set(
    key: string,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags: readonly string[] = [],
  ): Promise<void> {
    await this.#write(key, value, metadata, ttl, tags, undefined);
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen();
    checkKey(key);
    await this.#connected();
    const bucket = bucketOf(key);
    try {
      await this.#breaker.run(() =>
        runScript(
          this.#client,
          DELETE,
          [metadataName(key, bucket)],
          [this.#prefix, bucket, this.#scopes.of(bucket), encodeString(key)],
        ),
      );
    } finally {
      this.#forget(key, bucket);
      this.#failover?.wroteKey(key);
    }
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    this.#assertOpen();
    checkTags(tags);
    const unique = [...new Set(tags)];
    if (unique.length === 0) return 0;
    await this.#connected();
    // Our own local tier first: nothing it holds under these tags may be served from here on,
    // even before Redis's messages about the deleted versions arrive.
    this.#forgetTags(unique);
    let removed: Buffer[] = [];
    try {
      removed = await this.#breaker.run(() =>
        invalidateScopes(this.#client, this.#prefix, this.#scopes, unique.map(encodeString)),
      );
    } finally {
      // Reads that filled meanwhile saw either the old versions (dropped now) or the new.
      this.#forgetTags(unique);
      this.#failover?.invalidated(unique);
    }
    for (const member of removed) {
      const colon = member.indexOf(0x3a);
      this.#forget(
        decodeName(member.subarray(colon + 1)),
        Number(member.toString('latin1', 0, colon)),
      );
    }
    return removed.length;
  }

  async lease(
    key: string,
    tags: readonly string[] = [],
    options?: { lock?: number },
  ): Promise<Lease> {
    this.#assertOpen();
    checkKey(key);
    checkTags(tags);
    const lockMs = checkLookupOptions(options) ?? 0;
    await this.#connected();
    const epoch = this.#epoch;
    const takenAt = performance.now();
    const bucket = bucketOf(key);
    const scope = this.#scopes.of(bucket);
    const token = lockMs > 0 ? `${this.#lockId}:${++this.#locks}` : '';
    const args = [this.#prefix, scope, VERSION_TTL_MS, lockMs, token, bucket, encodeString(key)];
    const reply = await this.#breaker.run(() =>
      runScript(this.#client, LEASE, [clockKey(scope)], [...args, ...tags.map(encodeString)]),
    );
    const { clock, lock } = parseLeaseReply(reply);
    const lease = new RedisLease(key, this, bucket, clock, takenAt, epoch);
    if (lock?.state === 'taken') lease.lock = token;
    lease.fillLock = lock;
    return lease;
  }

  async setLeased(
    lease: Lease,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags: readonly string[] = [],
  ): Promise<boolean> {
    this.#assertOpen();
    const issued = this.#issued(lease);
    if (performance.now() - issued.takenAt > LEASE_TTL_MS || issued.epoch !== this.#epoch) {
      checkEntry(value, metadata, ttl, tags);
      return false;
    }
    return this.#write(issued.key, value, metadata, ttl, tags, issued);
  }

  async release(lease: Lease): Promise<void> {
    const issued = this.#issued(lease);
    const token = issued.lock;
    if (token === undefined) return; // nothing held: nothing to do, even once closed
    this.#assertOpen();
    issued.lock = undefined;
    await this.#connected();
    await this.#breaker.run(() =>
      runScript(this.#client, RELEASE, [lockName(issued.key, issued.bucket)], [token, PASSED_MS]),
    );
  }

  /** Quits the connections the store opened; a `client` you passed stays open. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#endStartup?.();
    this.#failover?.close();
    this.#stopPreload();
    for (const event of DROP_EVENTS) this.#client.off(event, this.#onClose);
    await this.#tracking?.close();
    if (this.#ownsClient) await quit(this.#client);
  }

  async #read(
    key: string,
    leaseTags: readonly string[] | undefined,
    valueNeeded: ReadOptions<M>['valueNeeded'],
    again = false,
    lockMs?: number,
  ): Promise<Lookup<M>> {
    this.#assertOpen();
    checkKey(key);
    // Moving to a new master: what it holds is not vouched for until every write the old one
    // may have lost was written again.
    if (this.#failover && !this.#failover.readable) return { entry: undefined, lease: undefined };
    const bucket = bucketOf(key);
    const localKey = this.#prefix + metadataKey(key, bucket);
    const local = this.#local;
    const cached = local?.get(localKey);
    if (cached) return { entry: cached, lease: undefined };
    // Redis timed out again and again: miss at once rather than wait for it (breaker.ts).
    if (!this.#breaker.allow()) return { entry: undefined, lease: undefined };
    const reader = this.#tracking?.readerFor(localKey);
    const ticket = reader && local ? local.begin(localKey) : undefined;
    const scope = this.#scopes.of(bucket);
    const keys = [metadataName(key, bucket)];
    const unread = valueNeeded ? 'm' : '';
    const token = leaseTags && lockMs !== undefined ? `${this.#lockId}:${++this.#locks}` : '';
    // An entry read whole before: if it is still the one stored, its value need not come again.
    const known = this.#known.get(localKey);
    const args = [this.#prefix, bucket, scope, encodeString(key), VERSION_TTL_MS, unread];
    args.push(token ? (lockMs ?? 0) : 0, token, known?.id ?? '');
    if (leaseTags) for (const tag of leaseTags) args.push(encodeString(tag));
    const epoch = this.#epoch;
    const sentAt = performance.now();
    try {
      if (this.#startup) await this.#startup;
      let reply: unknown;
      let tracked = reader !== undefined;
      try {
        reply = await runScript(reader ?? this.#client, GET, keys, args, { buffers: true });
      } catch (err) {
        if (!reader || !this.#tracking?.redirected(err)) throw err;
        // The reader's cluster node no longer (or not yet) serves this key, so the read was not
        // tracked: ask where the Cluster client routes it, and keep nothing locally.
        tracked = false;
        reply = await runScript(this.#client, GET, keys, args, { buffers: true });
      }
      this.#breaker.record();
      const found = parseGetReply(reply);
      if (found.hit === 'known' && known) {
        if (ticket && tracked) this.#fillLocal(ticket, known, found.pttl, scope);
        return { entry: known.entry, lease: undefined };
      }
      if (found.hit === 'known') return { entry: undefined, lease: undefined };
      if (!found.hit) {
        if (found.broken) {
          this.#report(new Error(`removed a broken cache entry (value or field missing): ${key}`));
        }
        const lease =
          leaseTags && found.clock
            ? new RedisLease(key, this, bucket, found.clock, sentAt, epoch)
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
        (found.valueId && (await this.#client.getBuffer(valueName(found.valueId, bucket))));
      if (value === null || value === undefined) {
        if (again) return { entry: undefined, lease: undefined };
        return this.#read(key, leaseTags, undefined, true);
      }
      const entry = { value: found.type === 'b' ? value : value.toString(), metadata };
      const size = value.length + found.metadataJson.length;
      const read = { id: String(found.valueId), entry, tags: found.tags, size };
      if (found.valueId) this.#known.remember(localKey, read);
      if (ticket && tracked) this.#fillLocal(ticket, read, found.pttl, scope);
      return { entry, lease: undefined };
    } catch (err) {
      this.#breaker.record(err);
      this.#report(err);
      return { entry: undefined, lease: undefined };
    } finally {
      if (ticket) local?.end(ticket);
    }
  }

  async #write(
    key: string,
    value: string | Buffer,
    metadata: M | undefined,
    ttl: number | undefined,
    tags: readonly string[],
    lease: RedisLease | undefined,
  ): Promise<boolean> {
    this.#assertOpen();
    checkKey(key);
    const { metadataJson, size } = checkEntry(value, metadata, ttl, tags);
    if (size > this.#maxEntrySize) throw new EntryTooLargeError(size, this.#maxEntrySize);
    if (ttl === 0) {
      await this.delete(key);
      return false;
    }
    await this.#connected();
    const bucket = lease?.bucket ?? bucketOf(key);
    const id = randomUUID();
    // A large value goes by a plain SET first (copying it through Lua costs Redis far more), to
    // a key of its own id that nothing refers to until the script, which may still refuse the
    // write and then deletes it; until then it expires on its own.
    const staged = size > LARGE_VALUE;
    const type = Buffer.isBuffer(value) ? 'b' : 's';
    let stored: unknown;
    try {
      stored = await this.#breaker.run(async () => {
        if (staged) {
          await this.#client.set(valueName(Buffer.from(id), bucket), value, 'PX', STAGED_TTL_MS);
        }
        return runScript(
          this.#client,
          SET,
          [metadataName(key, bucket)],
          [
            this.#prefix,
            bucket,
            this.#scopes.of(bucket),
            encodeString(key),
            id,
            staged ? '' : value,
            staged ? type.toUpperCase() : type,
            metadataJson,
            ttl === undefined ? 0 : ttl * 1000,
            lease?.clock.id ?? '',
            lease?.clock.n ?? '0',
            VERSION_TTL_MS,
            lease?.lock ?? '',
            ...[...new Set(tags)].map(encodeString),
          ],
        );
      });
      if (lease) lease.lock = undefined; // the script released it
    } finally {
      // Our own write must be visible to our own next read: the tracking message for it comes
      // over another connection and may arrive later. (Also when the write failed: it may have
      // happened all the same.)
      this.#forget(key, bucket);
      this.#failover?.wroteKey(key);
    }
    return stored === 1;
  }

  #issued(lease: Lease): RedisLease {
    if (!(lease instanceof RedisLease) || lease.store !== this) {
      throw new TypeError('lease was not issued by this store');
    }
    return lease;
  }

  /** Keeps an entry just read (through a tracked connection) in the local tier. */
  #fillLocal(ticket: Ticket, read: Known<M>, pttl: number, scope: number): void {
    const versions = read.tags.map((tag) => versionId(scope, decodeName(tag)));
    this.#local?.fill(ticket, read.entry, read.size, pttl, versions);
  }

  /** Drops our local copy of `key`, and refuses fills by reads in flight for it. */
  #forget(key: string, bucket: number): void {
    this.#local?.invalidate(this.#prefix + metadataKey(key, bucket));
  }

  /** Drops our local copies of entries carrying `tags`, in every scope. */
  #forgetTags(tags: readonly string[]): void {
    if (this.#local) forgetTags(this.#local, this.#scopes, tags);
  }

  /** An entry's metadata; corrupted metadata removes the entry. */
  #parseMetadata(key: string, metadataJson: Buffer): M | undefined {
    try {
      return JSON.parse(metadataJson.toString()) as M;
    } catch (err) {
      this.#report(
        new Error(`removed a cache entry with corrupted metadata: ${key}`, { cause: err }),
      );
      this.delete(key).catch(this.#report);
      return undefined;
    }
  }

  #onClose = (): void => {
    this.#epoch++;
  };

  /**
   * Waits for the connection at startup, and with Sentinel while moving to a new master (briefly:
   * commands then fail fast as usual).
   */
  async #connected(): Promise<void> {
    if (this.#startup) await this.#startup;
    const switching = this.#failover?.switching;
    if (switching) await switching;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('RedisCacheStore');
  }
}
