import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

// The store's Lua scripts. Each runs in one slot: the keys it names are either declared or built
// from the bucket's hash tag (see layout.ts), so the scripts work unchanged on a cluster. Names
// built inside a script get the keyPrefix from ARGV[1], since ioredis prefixes declared keys only.

/** A Lua script, run by SHA with a fallback to its source when the server does not know it. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, body: string): Script {
  const lua = PRELUDE + body;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const PRELUDE = `
local function bases(prefix, bucket)
  local tag = '{' .. bucket .. '}'
  return prefix .. 'metadata:' .. tag, prefix .. 'values:' .. tag, prefix .. 'tag:' .. tag,
    prefix .. 'tagv:' .. tag
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The bucket's clock; created with a fresh id, so a lease taken before a flush or restart fails.
local function clock(key)
  if redis.call('HEXISTS', key, 'id') == 0 then
    local t = redis.call('TIME')
    redis.call('HSET', key, 'id', t[1] .. '.' .. t[2], 'n', 0)
  end
end

-- Removes an entry: metadata, value and its places in the tag indexes. Returns 1 if it existed.
local function remove(meta, values, tagidx, key)
  local h = redis.call('HMGET', meta, 'id', 'tags')
  if h[1] then redis.call('DEL', values .. h[1]) end
  if h[2] then
    local ok, tags = pcall(cjson.decode, h[2])
    if ok and type(tags) == 'table' then
      for _, tag in ipairs(tags) do redis.call('ZREM', tagidx .. tag, key) end
    end
  end
  return redis.call('DEL', meta)
end
`;

/**
 * Reads an entry in one round trip. Only the metadata key is declared, and Redis 7 tracks only a
 * script's declared keys, so CLIENT TRACKING keeps one key per entry in its table: values are
 * immutable, a new value gets a new id and so a new metadata write.
 * KEYS[1] metadata key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] key.
 * Reply: nil on a miss; {metadata, value, type, pttl}; or {'broken'} after removing an entry that
 * had lost its value or a field.
 */
export const GET = script(
  'get',
  `
local meta, values, tagidx = bases(ARGV[1], ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'metadata', 'id', 't')
if h[1] and h[2] then
  local value = redis.call('GET', values .. h[2])
  if value then return {h[1], value, h[3] or 's', redis.call('PTTL', KEYS[1])} end
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
remove(KEYS[1], values, tagidx, ARGV[3])
return {'broken'}
`,
);

/**
 * Writes an entry: replaces the old one (its value and tag index places), sets both keys with the
 * same TTL and indexes the entry under its tags. With a lease, refuses when the bucket's clock was
 * reset or one of the tags was invalidated after the lease was taken.
 * KEYS[1] metadata key, KEYS[2] clock key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] key, ARGV[4] id,
 * ARGV[5] value, ARGV[6] type ('s' | 'b'), ARGV[7] metadata JSON, ARGV[8] ttl ms (0: none),
 * ARGV[9] tags JSON array, ARGV[10] lease clock id ('' without lease), ARGV[11] lease clock n.
 * Reply: 1 stored, 0 refused.
 */
export const SET = script(
  'set',
  `
local meta, values, tagidx, tagv = bases(ARGV[1], ARGV[2])
local tags = cjson.decode(ARGV[9])
if ARGV[10] ~= '' then
  local c = redis.call('HMGET', KEYS[2], 'id', 'n')
  if c[1] ~= ARGV[10] then return 0 end
  local n = tonumber(ARGV[11])
  for _, tag in ipairs(tags) do
    local v = redis.call('GET', tagv .. tag)
    if v and tonumber(v) > n then return 0 end
  end
end
remove(KEYS[1], values, tagidx, ARGV[3])
local value = values .. ARGV[4]
redis.call('HSET', KEYS[1], 'metadata', ARGV[7], 'id', ARGV[4], 't', ARGV[6], 'tags', ARGV[9])
redis.call('SET', value, ARGV[5])
local ttl = tonumber(ARGV[8])
local now = now_ms()
local score = 'inf'
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', value, ttl)
  score = now + ttl
end
for _, tag in ipairs(tags) do
  local idx = tagidx .. tag
  redis.call('ZADD', idx, score, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if last[2] == 'inf' then redis.call('PERSIST', idx) else redis.call('PEXPIREAT', idx, last[2]) end
end
return 1
`,
);

/**
 * Deletes an entry. KEYS[1] metadata key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] key.
 * Reply: 1 removed, 0 absent.
 */
export const DELETE = script(
  'delete',
  `
local meta, values, tagidx = bases(ARGV[1], ARGV[2])
return remove(KEYS[1], values, tagidx, ARGV[3])
`,
);

/**
 * Invalidates tags in one bucket: ticks the bucket's clock, records the tick as each tag's
 * version (so leases taken before it are refused) and removes the bucket's entries of each tag.
 * KEYS[1] clock key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] version TTL ms, ARGV[4] tags JSON.
 * Reply: the keys of the entries removed (each once), so the store can drop its own local copies
 * without waiting for the tracking messages.
 */
export const INVALIDATE = script(
  'invalidate',
  `
local meta, values, tagidx, tagv = bases(ARGV[1], ARGV[2])
clock(KEYS[1])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local removed = {}
for _, tag in ipairs(cjson.decode(ARGV[4])) do
  redis.call('SET', tagv .. tag, n, 'PX', ARGV[3])
  local idx = tagidx .. tag
  for _, key in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    if remove(meta .. key, values, tagidx, key) == 1 then removed[#removed + 1] = key end
  end
  redis.call('DEL', idx)
end
return removed
`,
);

/** Reads a bucket's clock for a lease. KEYS[1] clock key. Reply: {id, n}. */
export const LEASE_CLOCK = script(
  'leaseClock',
  `
clock(KEYS[1])
return redis.call('HMGET', KEYS[1], 'id', 'n')
`,
);

/**
 * Records a lease in flight, so invalidations visit its bucket even before the bucket holds the
 * tag. KEYS[1] leases key. ARGV[1] bucket, ARGV[2] lease TTL ms. Reply: 1.
 */
export const LEASE_ADD = script(
  'leaseAdd',
  `
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/** Lists buckets with leases in flight. KEYS[1] leases key. Reply: bucket numbers. */
export const LEASES_ACTIVE = script(
  'leasesActive',
  `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
);

/**
 * Adds a bucket to a tag's registry and keeps the registry alive as long as the entry.
 * KEYS[1] registry key. ARGV[1] bucket, ARGV[2] lifetime ms (0: no expiry). Reply: 1.
 */
export const REGISTER = script(
  'register',
  `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ms = tonumber(ARGV[2])
if ms == 0 then
  redis.call('PERSIST', KEYS[1])
else
  local pttl = redis.call('PTTL', KEYS[1])
  if existed == 0 or (pttl >= 0 and pttl < ms) then redis.call('PEXPIRE', KEYS[1], ms) end
end
return 1
`,
);

type Connection = Redis | Cluster;
type Arg = string | Buffer | number;

/** How {@link runScript} sends a script. */
export interface RunOptions {
  /** Reply strings as Buffers, so values stay byte-exact. */
  buffers?: boolean;
}

/** Runs `script` by SHA and falls back to its source on NOSCRIPT (after a restart or failover). */
export async function runScript(
  conn: Connection,
  s: Script,
  keys: readonly string[],
  args: readonly Arg[],
  { buffers = false }: RunOptions = {},
): Promise<unknown> {
  const send = (bySha: boolean): Promise<unknown> => {
    const command = [bySha ? s.sha : s.lua, keys.length, ...keys, ...args];
    return buffers
      ? conn.callBuffer(bySha ? 'evalsha' : 'eval', command)
      : conn.call(bySha ? 'evalsha' : 'eval', command);
  };
  try {
    return await send(true);
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
    return await send(false);
  }
}
