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
} from './layout.js';
import { LocalTier } from './local-tier.js';
import { applyMessage, forgetTags } from './local-messages.js';
import { connect, quit, waitForReady } from './connection.js';
import {
  asConnection,
  checkOptions,
  isCluster,
  keyPrefixOf,
  type RedisCacheStoreOptions,
} from './options.js';
import { RedisLease, VERSION_TTL_MS } from './lease.js';
import { EntryReader } from './reader.js';
import { writeEntry, type WriterParts } from './writer.js';
import { parseLeaseReply } from './reply.js';
import { CircuitBreaker } from './breaker.js';
import { preloadScripts } from './preload.js';
import { DELETE, LEASE, RELEASE, runScript } from './scripts.js';
import { createTracking, type Tracking } from './tracking.js';
import { FailoverGuard } from './failover.js';
import { isSentinel, keepConnected } from './sentinel.js';

/** How long the first commands wait for the initial connection instead of failing at once. */
const STARTUP_WAIT_MS = 1000;
/** Client events after which a lease may have missed a write (see `#epoch`). */
const DROP_EVENTS = ['close', '-node'] as const;

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
  readonly #reader: EntryReader<M>;
  readonly #writer: WriterParts;
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
    this.#writer = {
      client: this.#client,
      prefix: this.#prefix,
      scopes: this.#scopes,
      breaker: this.#breaker,
      // Our own write must be visible to our own next read: the tracking message for it comes
      // over another connection and may arrive later (also after a failed write: it may have
      // happened all the same).
      wrote: (key, bucket) => {
        this.#forget(key, bucket);
        failover?.wroteKey(key);
      },
    };
    this.#reader = new EntryReader<M>({
      client: this.#client,
      prefix: this.#prefix,
      scopes: this.#scopes,
      breaker: this.#breaker,
      report: this.#report,
      local,
      tracking: this.#tracking,
      failover,
      maxCount,
      maxSize,
      startup: () => this.#startup,
      epoch: () => this.#epoch,
      lease: (key, bucket, clock, sentAt, epoch) =>
        new RedisLease(key, this, bucket, clock, sentAt, epoch),
      token: () => `${this.#lockId}:${++this.#locks}`,
      remove: (key) => void this.delete(key).catch(this.#report),
    });
  }

  async get(key: string): Promise<CacheEntry<M> | undefined> {
    this.#assertOpen();
    checkKey(key);
    const read = { key, leaseTags: undefined, valueNeeded: undefined, lockMs: undefined };
    return (await this.#reader.read(read)).entry;
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
    this.#assertOpen();
    checkKey(key);
    const lockMs = checkLookupOptions(options);
    checkTags(tags);
    return this.#reader.read({ key, leaseTags: tags, valueNeeded: options?.valueNeeded, lockMs });
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
    const write = { key, bucket, value, metadataJson, size, ttl, tags, lease };
    return writeEntry(this.#writer, write);
  }

  #issued(lease: Lease): RedisLease {
    if (!(lease instanceof RedisLease) || lease.store !== this) {
      throw new TypeError('lease was not issued by this store');
    }
    return lease;
  }

  /** Drops our local copy of `key`, and refuses fills by reads in flight for it. */
  #forget(key: string, bucket: number): void {
    this.#local?.invalidate(this.#prefix + metadataKey(key, bucket));
  }

  /** Drops our local copies of entries carrying `tags`, in every scope. */
  #forgetTags(tags: readonly string[]): void {
    if (this.#local) forgetTags(this.#local, this.#scopes, tags);
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
