import { LRUCache } from 'lru-cache';
import { checkInteger, checkKnownKeys, checkObject } from '../validate.js';
import { checkEntry, checkKey, checkLookupOptions, checkTags } from './arguments.js';
import { FillLocks } from './fill-locks.js';
import {
  EntryTooLargeError,
  LEASE_TTL_MS,
  StoreClosedError,
  type CacheEntry,
  type CacheStore,
  type Lease,
  type Lookup,
  type ReadOptions,
} from './types.js';

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** Most entries kept; the least recently used go first. @default 10_000 */
  maxCount?: number;
  /** Most bytes (values plus metadata JSON) kept. @default `100 * 1024 * 1024` (100 MiB) */
  maxSize?: number;
  /**
   * Largest single entry in bytes; a larger `set` rejects with an {@link EntryTooLargeError}.
   * @default `maxSize`
   */
  maxEntrySize?: number;
}

interface Stored<M extends object> {
  entry: CacheEntry<M>;
  tags: readonly string[];
  size: number;
}

class MemoryLease implements Lease {
  /** The token of the fill lock this lease holds, until stored or released. */
  lock: string | undefined;
  fillLock: Lookup['lock'];

  constructor(
    readonly key: string,
    readonly store: object,
    readonly clock: number,
    readonly takenAt: number,
  ) {}
}

const OPTIONS = ['maxCount', 'maxSize', 'maxEntrySize'] as const;

/**
 * An in-process {@link CacheStore} on `lru-cache`, with the same contract as the Redis store:
 * TTLs, tags, leases, Buffers kept byte-exact and `maxEntrySize`. It is the HTTP cache's default
 * store; it does not share anything between processes.
 */
export class MemoryCacheStore<M extends object = Record<string, unknown>> implements CacheStore<M> {
  readonly #lru: LRUCache<string, Stored<M>>;
  readonly #maxEntrySize: number;
  readonly #tagged = new Map<string, Set<string>>();
  /** Bumped by every invalidation; a lease remembers the value it saw. */
  #clock = 0;
  /** Clock value of each tag's last invalidation, oldest first, kept for {@link LEASE_TTL_MS}. */
  readonly #invalidatedAt = new Map<string, { clock: number; at: number }>();
  readonly #locks = new FillLocks();
  #closed = false;

  constructor(options: MemoryCacheStoreOptions = {}) {
    checkObject('options', options);
    checkKnownKeys('MemoryCacheStore', options, OPTIONS);
    checkInteger('maxCount', options.maxCount, 1);
    checkInteger('maxSize', options.maxSize, 1);
    checkInteger('maxEntrySize', options.maxEntrySize);
    const maxSize = options.maxSize ?? 100 * 1024 * 1024;
    this.#maxEntrySize = options.maxEntrySize ?? maxSize;
    this.#lru = new LRUCache<string, Stored<M>>({
      max: options.maxCount ?? 10_000,
      maxSize,
      sizeCalculation: (stored) => Math.max(1, stored.size),
      // Replaced, evicted, expired or deleted: the entry leaves its tags' indexes.
      dispose: (stored, key) => this.#untag(key, stored.tags),
    });
  }

  async get(key: string): Promise<CacheEntry<M> | undefined> {
    this.#assertOpen();
    checkKey(key);
    return this.#lru.get(key)?.entry;
  }

  peek(key: string): CacheEntry<M> | undefined {
    this.#assertOpen();
    checkKey(key);
    return this.#lru.get(key)?.entry;
  }

  async getOrLease(
    key: string,
    tags: readonly string[] = [],
    options?: ReadOptions<M>,
  ): Promise<Lookup<M>> {
    const lockMs = checkLookupOptions(options);
    const entry = await this.get(key);
    if (entry) return { entry, lease: undefined };
    const lease = (await this.lease(key, tags, { lock: lockMs })) as MemoryLease;
    return lease.fillLock ? { entry, lease, lock: lease.fillLock } : { entry, lease };
  }

  async set(
    key: string,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags: readonly string[] = [],
  ): Promise<void> {
    this.#assertOpen();
    checkKey(key);
    this.#store(key, value, metadata, ttl, tags);
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen();
    checkKey(key);
    this.#lru.delete(key);
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    this.#assertOpen();
    checkTags(tags);
    const now = performance.now();
    this.#clock++;
    let removed = 0;
    for (const tag of tags) {
      this.#invalidatedAt.delete(tag); // re-insert at the end: the map stays ordered by time
      this.#invalidatedAt.set(tag, { clock: this.#clock, at: now });
      for (const key of [...(this.#tagged.get(tag) ?? [])]) {
        if (this.#lru.has(key)) removed++;
        this.#lru.delete(key);
      }
    }
    for (const [tag, { at }] of this.#invalidatedAt) {
      if (now - at <= LEASE_TTL_MS) break;
      this.#invalidatedAt.delete(tag);
    }
    return removed;
  }

  /** `tags` need not be named: this store remembers every invalidation for the lease's lifetime. */
  async lease(
    key: string,
    tags: readonly string[] = [],
    options?: { lock?: number },
  ): Promise<Lease> {
    this.#assertOpen();
    checkKey(key);
    checkTags(tags);
    const lockMs = checkLookupOptions(options);
    const lease = new MemoryLease(key, this, this.#clock, performance.now());
    if (lockMs === undefined) return lease;
    const { state, token } = this.#locks.take(key, lockMs);
    lease.lock = token;
    lease.fillLock = state;
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
    if (performance.now() - issued.takenAt > LEASE_TTL_MS) return false;
    checkTags(tags);
    this.#unlock(issued, true);
    for (const tag of tags) {
      const invalidated = this.#invalidatedAt.get(tag);
      if (invalidated && invalidated.clock > issued.clock) return false;
    }
    return this.#store(issued.key, value, metadata, ttl, tags);
  }

  async release(lease: Lease): Promise<void> {
    const issued = this.#issued(lease);
    if (issued.lock === undefined) return; // nothing held: nothing to do, even once closed
    this.#assertOpen();
    this.#unlock(issued, false);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#lru.clear();
    this.#locks.clear();
  }

  #issued(lease: Lease): MemoryLease {
    if (!(lease instanceof MemoryLease) || lease.store !== this) {
      throw new TypeError('lease was not issued by this store');
    }
    return lease;
  }

  /** Ends the lease's hold on its fill lock, if it has one: see {@link FillLocks.end}. */
  #unlock(lease: MemoryLease, stored: boolean): void {
    if (lease.lock === undefined) return;
    this.#locks.end(lease.key, lease.lock, stored);
    lease.lock = undefined;
  }

  #store(
    key: string,
    value: string | Buffer,
    metadata: M | undefined,
    ttl: number | undefined,
    tags: readonly string[],
  ): boolean {
    const { size } = checkEntry(value, metadata, ttl, tags);
    if (size > this.#maxEntrySize) throw new EntryTooLargeError(size, this.#maxEntrySize);
    if (ttl === 0) {
      this.#lru.delete(key);
      return false;
    }
    const unique = [...new Set(tags)];
    const entry = { value, metadata: metadata ?? ({} as M) };
    this.#lru.set(key, { entry, tags: unique, size }, { ttl: ttl === undefined ? 0 : ttl * 1000 });
    if (!this.#lru.has(key)) return false; // larger than maxSize: lru-cache declined it
    for (const tag of unique) {
      let keys = this.#tagged.get(tag);
      if (!keys) this.#tagged.set(tag, (keys = new Set()));
      keys.add(key);
    }
    return true;
  }

  #untag(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tagged.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.#tagged.delete(tag);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('MemoryCacheStore');
  }
}
