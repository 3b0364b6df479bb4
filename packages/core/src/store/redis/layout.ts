import { redisName } from './encoding.js';

// Where an entry lives in Redis. Every key of an entry carries its bucket as hash tag, so the
// metadata hash and the value share one slot, while buckets spread entries over all masters of a
// cluster. Tags are versioned per scope: the whole server on a single Redis, each bucket on a
// cluster (so a read checks its tags' versions in the entry's own slot).
//
//   metadata:{b}<key>   HASH   metadata (JSON), id, t ('s' string | 'b' Buffer), g (the entry's
//                              tags) and v (their versions when it was stored), length-prefixed
//   values:{b}<id>      STRING the value (a new id for every write)
//   tv:{s}<tag>         STRING the tag's current version in scope s: '<clock id>:<n>'
//   ti:{s}<tag>         ZSET   '<b>:<key>' of the scope's entries carrying <tag>, scored by expiry
//   clock:{s}           HASH   id (unique per incarnation), n: numbers the versions it creates
//   lock:{b}<key>       STRING the fill lock of a key that missed: its holder's token, or '' (the
//                              holder ended without a value); expires (stampede.ts)
//   mark:<store id>     STRING with Sentinel only: the number of a store's latest write mark
//
// An entry is valid while every tag's version still reads what the entry recorded. An
// invalidation deletes the versions, so an entry whose version was invalidated, evicted, expired
// or lost in a flush is never served; the index ti only reclaims memory. Keys and tags are encoded
// by encoding.ts; ioredis's keyPrefix is added to declared keys by ioredis and to the names
// scripts build by the scripts themselves (they receive the prefix as an argument).

/** Number of buckets: enough slots to spread over large clusters, few enough to visit all. */
export const BUCKETS = 1024;

/** The bucket of a key: FNV-1a over its UTF-16 code units, so it costs no allocation. */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

/** The key of a value (without keyPrefix), for the plain GET of a large one. */
export function valueName(id: Buffer, bucket: number): Buffer {
  return Buffer.concat([Buffer.from(`values:{${bucket}}`), id]);
}

/** The metadata key of an entry as a string (without keyPrefix): the local tier's key. */
export function metadataKey(key: string, bucket = bucketOf(key)): string {
  return `metadata:{${bucket}}${key}`;
}

/** The metadata key of an entry as Redis receives it (without keyPrefix). */
export function metadataName(key: string, bucket: number): string | Buffer {
  return redisName(`metadata:{${bucket}}`, key);
}

/** The fill lock of an entry as Redis receives it (without keyPrefix): in the entry's slot. */
export function lockName(key: string, bucket: number): string | Buffer {
  return redisName(`lock:{${bucket}}`, key);
}

/** The write mark of a store (without keyPrefix), see failover.ts. */
export function markKey(storeId: string): string {
  return `mark:${storeId}`;
}

/** The clock key of a scope (without keyPrefix). */
export function clockKey(scope: number): string {
  return `clock:{${scope}}`;
}

/**
 * How buckets map to version scopes. On a single Redis (or a cluster whose keyPrefix pins every
 * key to one slot) scripts may touch any key, so one scope serves all buckets and an invalidation
 * is one version per tag; on a spread cluster each bucket is its own scope.
 */
export interface Scopes {
  /** The scope of bucket `bucket`. */
  of(bucket: number): number;
  /** Every scope an invalidation must reach. */
  readonly all: readonly number[];
}

export const ONE_SCOPE: Scopes = { of: () => 0, all: [0] };

export const BUCKET_SCOPES: Scopes = {
  of: (bucket) => bucket,
  all: Array.from({ length: BUCKETS }, (_, bucket) => bucket),
};

/**
 * Throws unless `prefix` leaves our hash tags intact. Redis hashes the text between the first `{`
 * and the next `}`: a prefix with a complete tag (`{app}:`) pins every key to one slot, which is
 * fine, but a lone `{` or an empty `{}` would make the entry's keys hash apart.
 */
export function checkKeyPrefix(prefix: string): void {
  const open = prefix.indexOf('{');
  if (open === -1) return;
  const close = prefix.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) {
    throw new TypeError(
      `keyPrefix ${JSON.stringify(prefix)} opens a hash tag it does not close: use a complete tag like '{app}:' or no braces`,
    );
  }
}

/** Whether `prefix` holds a complete hash tag, pinning every key to one slot. */
export function pinsSlot(prefix: string): boolean {
  return prefix.includes('{');
}
