/** A stored value with the metadata kept beside it. */
export interface CacheEntry<M extends object = Record<string, unknown>> {
  /** A `Buffer` when it was stored as one (bytes exact), a string when stored as a string. */
  value: string | Buffer;
  metadata: M;
}

/**
 * Taken with {@link CacheStore.lease} before a value is computed, so that
 * {@link CacheStore.setLeased} can refuse to store it if one of its tags was invalidated while it
 * was being computed (the lease idea of "Scaling Memcache at Facebook", NSDI 2013).
 *
 * Opaque: only the store that issued it can interpret it.
 */
export interface Lease {
  /** The key the lease was taken for. */
  readonly key: string;
}

/**
 * The contract every restash store fulfils. Keys, tags and values are opaque to the store.
 *
 * `ttl` is in whole seconds: omitted means no expiry, `0` means the entry expires at once (setting
 * it removes any existing entry under the key).
 */
export interface CacheStore<M extends object = Record<string, unknown>> {
  /** Resolves the entry, or `undefined` on a miss. Never rejects for backend trouble: it misses. */
  get(key: string): Promise<CacheEntry<M> | undefined>;
  /** Stores `value` under `key`, replacing what was there (atomically, value and metadata). */
  set(
    key: string,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags?: readonly string[],
  ): Promise<void>;
  /** Removes the entry; resolves whether or not it existed. */
  delete(key: string): Promise<void>;
  /** Removes every entry carrying one of `tags` (exact match) and resolves how many were removed. */
  invalidateTags(tags: readonly string[]): Promise<number>;
  /** Starts a lease on `key`; see {@link Lease}. */
  lease(key: string): Promise<Lease>;
  /**
   * Like {@link CacheStore.set} for the lease's key, but resolves `false` without storing when any
   * of `tags` was invalidated after the lease was taken, or the lease is older than
   * {@link LEASE_TTL_MS}.
   */
  setLeased(
    lease: Lease,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags?: readonly string[],
  ): Promise<boolean>;
  /** Releases connections and timers. Idempotent; every later call rejects. */
  close(): Promise<void>;
}

/** How long a lease stays valid: a value that takes longer to compute is not stored. */
export const LEASE_TTL_MS = 120_000;

/** The error `set` rejects with when an entry is larger than the store's `maxEntrySize`. */
export class EntryTooLargeError extends Error {
  /** Stable across duplicate copies of this package, unlike `instanceof`. */
  readonly code = 'ERR_RESTASH_ENTRY_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly maxEntrySize: number,
  ) {
    super(`cache entry of ${size} bytes exceeds maxEntrySize (${maxEntrySize} bytes)`);
    this.name = 'EntryTooLargeError';
  }
}

/** The error every call rejects with after `close()`. */
export class StoreClosedError extends Error {
  readonly code = 'ERR_RESTASH_STORE_CLOSED';
  constructor(store: string) {
    super(`${store} is closed`);
    this.name = 'StoreClosedError';
  }
}
