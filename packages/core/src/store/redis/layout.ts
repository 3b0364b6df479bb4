// Where an entry lives in Redis. Every key of an entry carries its bucket as hash tag, so the
// metadata hash, the value and the bucket's tag indexes share one slot and one script can touch
// them atomically, while buckets spread entries over all masters of a cluster. Tags span buckets:
// a per-tag registry lists the buckets that hold the tag.
//
//   metadata:{b}<key>     HASH  metadata (JSON), id, t ('s' string | 'b' Buffer), tags (JSON)
//   values:{b}<id>        STRING the value
//   tag:{b}<tag>          ZSET  keys of bucket b carrying <tag>, scored by expiry (ms, or inf)
//   tagv:{b}<tag>         STRING clock value of <tag>'s last invalidation in bucket b (leases)
//   clock:{b}             HASH  id, n: bucket b's invalidation clock (leases)
//   tagbuckets:<tag>      SET   buckets that hold or held entries tagged <tag>
//   leases                ZSET  buckets with a lease in flight, scored by lease expiry (ms)
//
// ioredis's keyPrefix is added to declared keys by ioredis and to the names scripts build by the
// scripts themselves (they receive the prefix as an argument).

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

/** The metadata key of an entry (without keyPrefix). */
export function metadataKey(key: string, bucket = bucketOf(key)): string {
  return `metadata:{${bucket}}${key}`;
}

/** The clock key of a bucket (without keyPrefix). */
export function clockKey(bucket: number): string {
  return `clock:{${bucket}}`;
}

/** The registry of buckets holding `tag` (without keyPrefix). */
export function tagBucketsKey(tag: string): string {
  return `tagbuckets:${tag}`;
}

/** The key listing buckets with leases in flight (without keyPrefix). */
export const LEASES_KEY = 'leases';

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
