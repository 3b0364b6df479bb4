import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../../report.js';
import { checkEntry, checkKey, checkTags } from '../arguments.js';
import {
  EntryTooLargeError,
  LEASE_TTL_MS,
  StoreClosedError,
  type CacheEntry,
  type CacheStore,
  type Lease,
} from '../types.js';
import { bucketOf, clockKey, LEASES_KEY, metadataKey, tagBucketsKey } from './layout.js';
import { LocalTier } from './local-tier.js';
import {
  checkOptions,
  keyPrefixOf,
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  type RedisCacheStoreOptions,
} from './options.js';
import {
  DELETE,
  GET,
  INVALIDATE,
  LEASE_ADD,
  LEASE_CLOCK,
  LEASES_ACTIVE,
  REGISTER,
  SET,
  runScript,
} from './scripts.js';
import { createTracking, type Tracking } from './tracking.js';

/** Tag versions outlive leases by a margin for clock drift between app and Redis. */
const TAG_VERSION_TTL_MS = LEASE_TTL_MS + 10_000;
/** How long the first commands wait for the initial connection instead of failing at once. */
const STARTUP_WAIT_MS = 1000;
/** Client events after which a lease may have missed a write (see `#epoch`). */
const DROP_EVENTS = ['close', '-node'] as const;

class RedisLease implements Lease {
  constructor(
    readonly key: string,
    readonly store: object,
    readonly bucket: number,
    readonly clockId: string,
    readonly clockN: string,
    readonly takenAt: number,
    readonly epoch: number,
  ) {}
}

/**
 * A {@link CacheStore} on Redis (or Redis Cluster) through ioredis: two keys per entry written
 * and read by one Lua script each, tags indexed per bucket, and a local tier kept coherent by
 * CLIENT TRACKING so warm reads cost no round trip. See layout.ts for the key layout.
 *
 * Reads never reject for Redis trouble: they report to `errorCallback` and miss. Writes
 * (`set`, `delete`, `invalidateTags`, `lease`, `setLeased`) reject, so the caller knows the
 * write did not happen.
 */
export class RedisCacheStore<M extends object = Record<string, unknown>> implements CacheStore<M> {
  readonly #client: Redis | Cluster;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #maxEntrySize: number;
  readonly #report: ErrorReporter;
  readonly #local: LocalTier<M> | undefined;
  readonly #tracking: Tracking | undefined;
  /** Bumped whenever the connection drops: a lease spanning a drop may have missed a write. */
  #epoch = 0;
  #startup: Promise<void> | undefined;
  /** Ends the startup wait early (on close). */
  #endStartup: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RedisCacheStoreOptions = {}) {
    checkOptions(options);
    this.#report = safeReporter(
      options.errorCallback ?? throttledConsoleReporter('RedisCacheStore'),
    );
    this.#maxEntrySize = options.maxEntrySize ?? 100 * 1024 * 1024;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? connect(options);
    this.#prefix = keyPrefixOf(this.#client);
    if (this.#ownsClient) this.#client.on('error', this.#report);
    // A cluster emits 'close' only once every node is gone; losing one node (a master dying
    // before its failover) must also refuse the leases that span it.
    for (const event of DROP_EVENTS) this.#client.on(event, this.#onClose);
    if (this.#client.status !== 'ready') this.#startup = this.#waitForStartup();
    if (options.tracking ?? true) {
      const local = new LocalTier<M>(
        options.maxCount ?? 10_000,
        options.maxSize ?? 64 * 1024 * 1024,
      );
      this.#local = local;
      this.#tracking = createTracking(this.#client, {
        invalidate: (keys) => (keys ? keys.forEach((key) => local.invalidate(key)) : local.clear()),
        reset: () => local.clear(),
        error: this.#report,
      });
    }
  }

  async get(key: string): Promise<CacheEntry<M> | undefined> {
    this.#assertOpen();
    checkKey(key);
    const bucket = bucketOf(key);
    const mkey = metadataKey(key, bucket);
    const local = this.#local;
    const cached = local?.get(this.#prefix + mkey);
    if (cached) return cached;
    const reader = this.#tracking?.readerFor(this.#prefix + mkey);
    const ticket = reader && local ? local.begin(this.#prefix + mkey) : undefined;
    const args = [this.#prefix, bucket, key];
    try {
      if (this.#startup) await this.#startup;
      let reply: unknown;
      let tracked = reader !== undefined;
      try {
        reply = await runScript(reader ?? this.#client, GET, [mkey], args, { buffers: true });
      } catch (err) {
        if (!reader || !this.#tracking?.redirected(err)) throw err;
        // The reader's cluster node no longer (or not yet) serves this key, so the read was not
        // tracked: ask where the Cluster client routes it, and keep nothing locally.
        tracked = false;
        reply = await runScript(this.#client, GET, [mkey], args, { buffers: true });
      }
      const decoded = this.#decode(key, reply);
      if (decoded && ticket && tracked) {
        local?.fill(ticket, decoded.entry, decoded.size, decoded.pttl);
      }
      return decoded?.entry;
    } catch (err) {
      this.#report(err);
      return undefined;
    } finally {
      if (ticket) local?.end(ticket);
    }
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
    if (this.#startup) await this.#startup;
    const bucket = bucketOf(key);
    try {
      await runScript(
        this.#client,
        DELETE,
        [metadataKey(key, bucket)],
        [this.#prefix, bucket, key],
      );
    } finally {
      this.#forget([key]);
    }
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    this.#assertOpen();
    checkTags(tags);
    const unique = [...new Set(tags)];
    if (unique.length === 0) return 0;
    if (this.#startup) await this.#startup;
    // Visit every bucket that holds one of the tags or has a lease in flight (whose entry may be
    // about to get one of the tags): ticking its clock refuses those leases.
    const lists = await Promise.all([
      runScript(this.#client, LEASES_ACTIVE, [LEASES_KEY], []),
      ...unique.map((tag) => this.#client.smembers(tagBucketsKey(tag))),
    ]);
    const buckets = new Set((lists as string[][]).flat());
    const tagsJson = JSON.stringify(unique);
    // Buckets live on different masters: one may fail (a failover) while others succeed.
    const results = await Promise.allSettled(
      [...buckets].map((bucket) =>
        runScript(
          this.#client,
          INVALIDATE,
          [clockKey(Number(bucket))],
          [this.#prefix, bucket, TAG_VERSION_TTL_MS, tagsJson],
        ),
      ),
    );
    const keys = results.flatMap((r) => (r.status === 'fulfilled' ? (r.value as string[]) : []));
    this.#forget(keys);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return keys.length;
  }

  async lease(key: string): Promise<Lease> {
    this.#assertOpen();
    checkKey(key);
    if (this.#startup) await this.#startup;
    const epoch = this.#epoch;
    const bucket = bucketOf(key);
    const [clock] = (await Promise.all([
      runScript(this.#client, LEASE_CLOCK, [clockKey(bucket)], []),
      runScript(this.#client, LEASE_ADD, [LEASES_KEY], [bucket, LEASE_TTL_MS]),
    ])) as [[string, string], number];
    return new RedisLease(key, this, bucket, clock[0], clock[1], performance.now(), epoch);
  }

  async setLeased(
    lease: Lease,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags: readonly string[] = [],
  ): Promise<boolean> {
    this.#assertOpen();
    if (!(lease instanceof RedisLease) || lease.store !== this) {
      throw new TypeError('lease was not issued by this store');
    }
    if (performance.now() - lease.takenAt > LEASE_TTL_MS || lease.epoch !== this.#epoch) {
      checkEntry(value, metadata, ttl, tags);
      return false;
    }
    return this.#write(lease.key, value, metadata, ttl, tags, lease);
  }

  /** Quits the connections the store opened; a `client` you passed stays open. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#endStartup?.();
    for (const event of DROP_EVENTS) this.#client.off(event, this.#onClose);
    await this.#tracking?.close();
    if (this.#ownsClient) {
      try {
        await this.#client.quit();
      } catch {
        this.#client.disconnect();
      }
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
    if (this.#startup) await this.#startup;
    const bucket = lease?.bucket ?? bucketOf(key);
    const ttlMs = ttl === undefined ? 0 : ttl * 1000;
    const unique = [...new Set(tags)];
    // Registries first: an entry its tags' registries do not list could never be invalidated.
    await Promise.all(
      unique.map((tag) =>
        runScript(
          this.#client,
          REGISTER,
          [tagBucketsKey(tag)],
          [bucket, ttlMs && ttlMs + LEASE_TTL_MS],
        ),
      ),
    );
    let stored: unknown;
    try {
      stored = await runScript(
        this.#client,
        SET,
        [metadataKey(key, bucket), clockKey(bucket)],
        [
          this.#prefix,
          bucket,
          key,
          randomUUID(),
          value,
          Buffer.isBuffer(value) ? 'b' : 's',
          metadataJson,
          ttlMs,
          JSON.stringify(unique),
          lease?.clockId ?? '',
          lease?.clockN ?? '0',
        ],
      );
    } finally {
      // Our own write must be visible to our own next read: the tracking message for it comes
      // over another connection and may arrive later. (Also when the write failed: it may have
      // happened all the same.)
      this.#forget([key]);
    }
    return stored === 1;
  }

  /** Drops our local copies of `keys`, and refuses fills by reads in flight for them. */
  #forget(keys: readonly string[]): void {
    const local = this.#local;
    if (local) for (const key of keys) local.invalidate(this.#prefix + metadataKey(key));
  }

  #decode(
    key: string,
    reply: unknown,
  ): { entry: CacheEntry<M>; size: number; pttl: number } | undefined {
    if (reply === null) return undefined;
    const [metadataJson, value, type, pttl] = reply as [Buffer, Buffer?, Buffer?, number?];
    if (value === undefined || type === undefined || pttl === undefined) {
      this.#report(new Error(`removed a broken cache entry (value or field missing): ${key}`));
      return undefined;
    }
    let metadata: M;
    try {
      metadata = JSON.parse(metadataJson.toString()) as M;
    } catch (err) {
      this.#report(
        new Error(`removed a cache entry with corrupted metadata: ${key}`, { cause: err }),
      );
      this.delete(key).catch(this.#report);
      return undefined;
    }
    const entry = { value: type.toString() === 'b' ? value : value.toString(), metadata };
    return { entry, size: value.length + metadataJson.length, pttl };
  }

  #onClose = (): void => {
    this.#epoch++;
  };

  /** The first commands after construction wait briefly for the connection instead of failing. */
  async #waitForStartup(): Promise<void> {
    const client = this.#client;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, STARTUP_WAIT_MS);
      client.once('ready', done);
      this.#endStartup = done;
    });
    this.#startup = undefined;
    this.#endStartup = undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('RedisCacheStore');
  }
}

function connect(options: RedisCacheStoreOptions): Redis | Cluster {
  if (options.cluster) {
    const { nodes, options: clusterOptions = {} } = options.cluster;
    return new Cluster(nodes, {
      ...RESILIENT_CLUSTER_DEFAULTS,
      ...clusterOptions,
      redisOptions: { ...nodeDefaults(), ...clusterOptions.redisOptions },
    });
  }
  return new Redis({ ...RESILIENT_DEFAULTS, connectionName: 'restash', ...options.clientOpts });
}

function nodeDefaults(): Omit<typeof RESILIENT_DEFAULTS, 'retryStrategy' | 'enableOfflineQueue'> & {
  connectionName: string;
} {
  const { commandTimeout, connectTimeout, maxRetriesPerRequest } = RESILIENT_DEFAULTS;
  return { commandTimeout, connectTimeout, maxRetriesPerRequest, connectionName: 'restash' };
}
