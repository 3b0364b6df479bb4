/** A stored value with the metadata kept beside it. */
export interface CacheEntry<M extends object = Record<string, unknown>> {
  /** A `Buffer` when it was stored as one (bytes exact), a string when stored as a string. */
  value: string | Buffer;
  /** Stored as JSON beside the value and replaced with it, so plain data only. */
  metadata: M;
  /**
   * Set when the value was left unread because {@link ReadOptions.valueNeeded} said so: `value`
   * is then empty.
   */
  withoutValue?: true;
}

/** How {@link CacheStore.getOrLease} reads. */
export interface ReadOptions<M extends object = Record<string, unknown>> {
  /**
   * Asked with a hit's metadata before its value is read, when the value is not at hand already:
   * `false` returns the entry without its value ({@link CacheEntry.withoutValue}), so an answer
   * the metadata alone decides — a 304 to a conditional request — costs no body transfer. The
   * Redis store then reads the metadata only, and the value with a second round trip when the
   * answer is `true`; stores holding the value in memory may ignore it.
   * @default none: every hit is read whole
   */
  valueNeeded?: (metadata: M) => boolean;
  /**
   * Milliseconds: a miss also takes the key's fill lock, in the same round trip, unless another
   * caller holds it (see {@link Lookup.lock}); it expires after this long if its holder never
   * stores nor releases it (a crash). Stores without {@link CacheStore.release} ignore it.
   * @default none: no fill lock
   */
  lock?: number;
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
  /**
   * The key's fill lock as {@link CacheStore.lease} found it, when asked to take it: another
   * caller holding it is computing the key already (a background refresh need not).
   */
  readonly fillLock?: Lookup['lock'];
}

/** What {@link CacheStore.getOrLease} found. */
export interface Lookup<M extends object = Record<string, unknown>> {
  /** The entry, on a hit. */
  entry: CacheEntry<M> | undefined;
  /** On a miss, a lease to store the key under, when one could be taken. */
  lease: Lease | undefined;
  /**
   * On a miss read with `{ lock }`, the key's fill lock (stampede protection across instances):
   * `taken` by this read (its lease holds it until {@link CacheStore.setLeased} or
   * {@link CacheStore.release}); `busy`, held by another caller (`holder`, its token) for at most
   * `expiresIn` more milliseconds; or `passed`: the last holder ended without storing a value, so
   * there is nothing to wait for. Absent when no lock was asked for or none could be taken.
   */
  lock?:
    | {
        /** This read took the lock. */
        state: 'taken';
      }
    | {
        /** Another caller holds it. */
        state: 'busy';
        /** The holder's token: it changes when another caller takes the lock over. */
        holder: string;
        /** Milliseconds until the lock expires, unless its holder ends it first. */
        expiresIn: number;
      }
    | {
        /** Its last holder ended without storing a value. */
        state: 'passed';
      };
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
  /**
   * The entry, when the store can answer at once from process memory (the Redis store's local
   * tier, the in-memory store), else `undefined`; it never waits. Optional: it lets a warm hit be
   * answered without a single promise.
   */
  peek?(key: string): CacheEntry<M> | undefined;
  /**
   * Reads `key` as {@link CacheStore.get} does and, on a miss, takes a lease on it as
   * {@link CacheStore.lease} does (the Redis store in the same round trip). Never rejects for
   * backend trouble: it misses without a lease.
   * `options` may ask for the metadata alone and for the key's fill lock ({@link ReadOptions}).
   */
  getOrLease(key: string, tags?: readonly string[], options?: ReadOptions<M>): Promise<Lookup<M>>;
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
  /**
   * Starts a lease on `key`; see {@link Lease}. `tags` are the tags the value will be stored with,
   * as far as they are known now: a tag named here is followed exactly, while the Redis store
   * refuses a {@link CacheStore.setLeased} whose tag it did not know when the lease was taken
   * (the first use of a tag, once per tag and scope), since it cannot tell whether an
   * invalidation passed it meanwhile. With `options.lock` (ms), it also takes the key's fill lock
   * unless another caller holds it, whether or not an entry is stored (a refresh of an expired
   * one): see {@link Lease.fillLock}. Stores without {@link CacheStore.release} ignore it.
   */
  lease(key: string, tags?: readonly string[], options?: { lock?: number }): Promise<Lease>;
  /**
   * Like {@link CacheStore.set} for the lease's key, but resolves `false` without storing when any
   * of `tags` was invalidated after the lease was taken, or the lease is older than
   * {@link LEASE_TTL_MS}. Storing, or refusing for an invalidation, also releases the lease's fill
   * lock if it holds one (call {@link CacheStore.release} after it either way: it costs nothing
   * then).
   */
  setLeased(
    lease: Lease,
    value: string | Buffer,
    metadata?: M,
    ttl?: number,
    tags?: readonly string[],
  ): Promise<boolean>;
  /**
   * Gives up the fill lock `lease` took (see {@link CacheStore.getOrLease}), if it still holds it,
   * without storing: callers waiting for the key then compute it themselves at once instead of
   * waiting for the lock to expire. Resolves at once when the lease holds no lock (or no longer:
   * `setLeased` released it), even after `close()`. Optional: a store without it takes no fill
   * locks.
   */
  release?(lease: Lease): Promise<void>;
  /** Releases connections and timers. Idempotent; every later call rejects. */
  close(): Promise<void>;
}

/** How long a lease stays valid: a value that takes longer to compute is not stored. */
export const LEASE_TTL_MS = 120_000;

/**
 * Whether `value` is an `Error` carrying `code`. The error classes below answer `instanceof` with
 * it: the ESM and CommonJS builds (and two installed copies of the package) each define their own
 * class, and an error thrown by one must still be an instance of the other's — an app that
 * `import`s restash while a library of its `require`s it holds two classes and one store.
 */
export function hasCode(value: unknown, code: string): boolean {
  return value instanceof Error && (value as { code?: unknown }).code === code;
}

/**
 * The error `set` rejects with when an entry is larger than the store's `maxEntrySize`.
 * `instanceof` holds across the ESM and CommonJS builds and across copies of the package: it
 * tests {@link EntryTooLargeError.code}.
 */
export class EntryTooLargeError extends Error {
  /** The `code` every instance carries. */
  static readonly code = 'ERR_RESTASH_ENTRY_TOO_LARGE';
  /** Stable across builds and copies of this package: `err.code === EntryTooLargeError.code`. */
  readonly code = EntryTooLargeError.code;
  constructor(
    /** Bytes of the refused entry: value plus metadata JSON. */
    readonly size: number,
    /** The store's limit it exceeded. */
    readonly maxEntrySize: number,
  ) {
    super(`cache entry of ${size} bytes exceeds maxEntrySize (${maxEntrySize} bytes)`);
    this.name = 'EntryTooLargeError';
  }

  /** `instanceof` by `code`: one identity for the ESM and CommonJS builds. */
  static override [Symbol.hasInstance](value: unknown): value is EntryTooLargeError {
    return hasCode(value, EntryTooLargeError.code);
  }
}

/**
 * The error every call rejects with after `close()`. `instanceof` holds across the ESM and
 * CommonJS builds and across copies of the package: it tests {@link StoreClosedError.code}.
 */
export class StoreClosedError extends Error {
  /** The `code` every instance carries. */
  static readonly code = 'ERR_RESTASH_STORE_CLOSED';
  /** Stable across builds and copies of this package: `err.code === StoreClosedError.code`. */
  readonly code = StoreClosedError.code;
  constructor(store: string) {
    super(`${store} is closed`);
    this.name = 'StoreClosedError';
  }

  /** `instanceof` by `code`: one identity for the ESM and CommonJS builds. */
  static override [Symbol.hasInstance](value: unknown): value is StoreClosedError {
    return hasCode(value, StoreClosedError.code);
  }
}
