import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { PRELUDE } from './lua-prelude.js';

// The store's Lua scripts (layout.ts describes the keys). Each runs in one slot: the keys it names
// are declared or built from the bucket's or scope's hash tag, so they work unchanged on a
// cluster; only INVALIDATE_NODE spans slots, of one node. Tags and keys arrive as separate ARGV
// entries, never as JSON: they are bytes to Lua, whatever they hold. Names built inside a script
// get the keyPrefix from ARGV[1], since ioredis prefixes declared keys only.

/** A Lua script, run by SHA with a fallback to its source when the server does not know it. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, body: string, flags?: string): Script {
  const lua = (flags ? `#!lua flags=${flags}\n` : '') + PRELUDE + body;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Reads an entry, checking its tags' versions, in one round trip; on a miss takes a lease in the
 * same trip. Only the metadata key is declared, and Redis 7 tracks only declared keys, so CLIENT
 * TRACKING keeps one key per entry (tag versions are followed by prefix, see tracker.ts). An entry
 * whose versions changed or whose value is gone is removed.
 * KEYS[1] metadata key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] scope, ARGV[4] key, ARGV[5]
 * version lifetime ms for a lease, ARGV[6] 'm' to leave the value unread, ARGV[7] fill lock ms
 * ('0': no lock), ARGV[8] fill lock token, ARGV[9] the value id the caller has the entry of ('':
 * none), ARGV[10..] tags to lease on a miss.
 * Reply: {3, pttl} on a hit of the entry whose id the caller has; {1, metadata, value, type, pttl,
 * tags, value id} on a hit; {2, metadata, value id, type, pttl, tags} on a hit whose value is over
 * {@link LARGE_VALUE} bytes or was left unread, which the store then reads with a plain GET if it
 * needs it; {0, broken (0|1), clock id, n, lock} on a
 * miss, without the clock when no lease could be taken (Redis out of memory), and without lock
 * when none was asked for or it could not be taken. lock: 1 taken by this call; 2 passed (its
 * last holder ended without a value); 0 busy, followed by the holder's token and the ms its lock
 * has left.
 */
/**
 * Values larger than this many bytes leave the get script as an id and are read with a plain GET:
 * copying a large string into Lua and out again costs Redis more than the extra round trip.
 * Values are immutable per id, so the second read can only miss (the entry was replaced or
 * evicted meanwhile), never return another entry's value.
 */
export const LARGE_VALUE = 16 * 1024;

export const GET = script(
  'get',
  `
local values, tv, ti, ckey = names(ARGV[1], ARGV[2], ARGV[3])
local member = ARGV[2] .. ':' .. ARGV[4]
local h = redis.call('HMGET', KEYS[1], 'metadata', 'id', 't', 'g', 'v')
local broken = 0
if h[1] and h[2] then
  local valid = h[4] ~= false and h[5] ~= false
  if valid then
    local versions = split(h[5])
    for i, tag in ipairs(split(h[4])) do
      if redis.call('GET', tv .. tag) ~= versions[i] then valid = false break end
    end
  end
  -- The caller has this entry already (ids are never reused): nothing needs to leave.
  if valid and ARGV[9] ~= '' and h[2] == ARGV[9] then return {3, redis.call('PTTL', KEYS[1])} end
  -- The caller may answer from the metadata alone (a 304): the value stays where it is.
  if valid and ARGV[6] == 'm' then
    return {2, h[1], h[2], h[3] or 's', redis.call('PTTL', KEYS[1]), h[4]}
  end
  if valid then
    local value = values .. h[2]
    local size = redis.call('STRLEN', value)
    if size > ${LARGE_VALUE} then
      return {2, h[1], h[2], h[3] or 's', redis.call('PTTL', KEYS[1]), h[4]}
    end
    if size > 0 or redis.call('EXISTS', value) == 1 then
      return {1, h[1], redis.call('GET', value), h[3] or 's', redis.call('PTTL', KEYS[1]), h[4], h[2]}
    end
    broken = 1
  end
  remove(KEYS[1], values, ti, member)
elseif h[1] or h[2] or redis.call('EXISTS', KEYS[1]) == 1 then
  broken = 1
  remove(KEYS[1], values, ti, member)
end
local ok, c = pcall(lease, ckey, tv, 10, ARGV[5])
if not ok then return {0, broken} end
local reply = {0, broken, c[1], c[2]}
if ARGV[7] == '0' then return reply end
-- The fill lock, in the entry's slot.
for _, item in ipairs(take_lock(ARGV[1] .. 'lock:{' .. ARGV[2] .. '}' .. ARGV[4], ARGV[8], ARGV[7])) do
  reply[#reply + 1] = item
end
return reply
`,
);

/**
 * Takes a lease without reading, and with ARGV[4] > 0 the key's fill lock (in the entry's slot:
 * the scope is the bucket wherever slots matter). KEYS[1] clock key. ARGV[1] prefix, ARGV[2]
 * scope, ARGV[3] version lifetime ms, ARGV[4] fill lock ms ('0': no lock), ARGV[5] fill lock
 * token, ARGV[6] bucket, ARGV[7] key, ARGV[8..] tags. Reply: {clock id, n, lock...} (lock as
 * {@link GET}'s miss has it).
 */
export const LEASE = script(
  'lease',
  `
local reply = lease(KEYS[1], ARGV[1] .. 'tv:{' .. ARGV[2] .. '}', 8, ARGV[3])
if ARGV[4] == '0' then return reply end
for _, item in ipairs(take_lock(ARGV[1] .. 'lock:{' .. ARGV[6] .. '}' .. ARGV[7], ARGV[5], ARGV[4])) do
  reply[#reply + 1] = item
end
return reply
`,
);

/**
 * Writes an entry: replaces the old one (its value and index places), sets both keys with the
 * same TTL, records its tags' versions (creating those that are missing) and indexes it. With a
 * lease, refuses when a version was created or changed since the lease was taken.
 * KEYS[1] metadata key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] scope, ARGV[4] key, ARGV[5] id,
 * ARGV[6] value, ARGV[7] type ('s' | 'b'; 'S' | 'B' when the store wrote a large value to its
 * key beforehand, with a plain SET, and ARGV[6] is empty), ARGV[8] metadata JSON, ARGV[9] ttl ms (0: none),
 * ARGV[10] lease clock id ('' without lease), ARGV[11] lease clock n, ARGV[12] lifetime ms of a
 * version created for a refused write, ARGV[13] the lease's fill lock token ('' for none), which
 * is released whether the write is stored or refused, ARGV[14..] tags (no repeats).
 * Reply: 1 stored, 0 refused.
 */
export const SET = script(
  'set',
  `
local values, tv, ti, ckey = names(ARGV[1], ARGV[2], ARGV[3])
if ARGV[13] ~= '' then
  local lock = ARGV[1] .. 'lock:{' .. ARGV[2] .. '}' .. ARGV[4]
  if redis.call('GET', lock) == ARGV[13] then redis.call('DEL', lock) end
end
local c = clock(ckey)
local tags, versions, refused = {}, {}, false
for i = 14, #ARGV do
  local tag = ARGV[i]
  local v = redis.call('GET', tv .. tag)
  local fresh = not v or clock_of(v) ~= c[1]
  if fresh then
    v = new_version(ckey, c[1])
    redis.call('SET', tv .. tag, v, 'PX', ARGV[12])
  end
  -- A version created or changed since the lease may hide an invalidation in between.
  if ARGV[10] ~= '' and (fresh or clock_of(v) ~= ARGV[10] or number_of(v) > tonumber(ARGV[11])) then
    refused = true
  end
  tags[#tags + 1] = tag
  versions[#versions + 1] = v
end
local value = values .. ARGV[5]
local staged = ARGV[7] == 'S' or ARGV[7] == 'B'
-- A staged value evicted before this ran: storing would only leave a broken entry.
if refused or (staged and redis.call('EXISTS', value) == 0) then
  if staged then redis.call('DEL', value) end
  return 0
end
local member = ARGV[2] .. ':' .. ARGV[4]
remove(KEYS[1], values, ti, member)
redis.call('HSET', KEYS[1], 'metadata', ARGV[8], 'id', ARGV[5], 't', string.lower(ARGV[7]),
  'g', pack(tags), 'v', pack(versions))
if not staged then redis.call('SET', value, ARGV[6]) end
local ttl = tonumber(ARGV[9])
local now = now_ms()
local score = 'inf'
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', value, ttl)
  score = now + ttl
elseif staged then
  redis.call('PERSIST', value)
end
for _, tag in ipairs(tags) do
  local idx = ti .. tag
  redis.call('ZADD', idx, score, member)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  expire_at(idx, last[2])
  expire_at(tv .. tag, score, true)
end
return 1
`,
);

/**
 * Ends a fill lock's hold without a value: if KEYS[1] (the lock) still holds the token ARGV[1],
 * it becomes the passed marker for ARGV[2] ms (deleted when Redis is out of memory). Reply: 1
 * released, 0 not held.
 */
export const RELEASE = script(
  'release',
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if not pcall(redis.call, 'SET', KEYS[1], '', 'PX', ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 1
`,
);

/**
 * Deletes an entry. KEYS[1] metadata key. ARGV[1] prefix, ARGV[2] bucket, ARGV[3] scope, ARGV[4]
 * key. Reply: 1 removed, 0 absent.
 */
export const DELETE = script(
  'delete',
  `
local values, tv, ti = names(ARGV[1], ARGV[2], ARGV[3])
return remove(KEYS[1], values, ti, ARGV[2] .. ':' .. ARGV[4])
`,
);

const INVALIDATE_BODY = `
local prefix, budget, k = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
-- Every version first: a scope this node does not serve fails the script here, before anything
-- was removed (so the caller's retry elsewhere counts every entry once).
for si = 4, 3 + k do
  local tv = prefix .. 'tv:{' .. ARGV[si] .. '}'
  for i = 4 + k, #ARGV do redis.call('DEL', tv .. ARGV[i]) end
end
local reply = {0}
for si = 4, 3 + k do
  local ti = prefix .. 'ti:{' .. ARGV[si] .. '}'
  for i = 4 + k, #ARGV do
    local tag = ARGV[i]
    local idx = ti .. tag
    if budget > 0 then
      for _, member in ipairs(redis.call('ZRANGE', idx, 0, budget - 1)) do
        local colon = string.find(member, ':', 1, true)
        local b = '{' .. string.sub(member, 1, colon - 1) .. '}'
        local meta = prefix .. 'metadata:' .. b .. string.sub(member, colon + 1)
        if remove(meta, prefix .. 'values:' .. b, ti, member, tag) == 1 then
          reply[#reply + 1] = member
        end
        redis.call('ZREM', idx, member)
        budget = budget - 1
      end
    end
    if budget <= 0 and redis.call('EXISTS', idx) == 1 then reply[1] = 1 end
  end
end
return reply
`;

/**
 * Invalidates tags: deletes their versions in every scope given, so entries carrying them are
 * invalid from this moment wherever they are, then removes up to a budget of those entries
 * through the indexes (memory; also tells other instances' local tiers). Nothing but deletions,
 * so it works when Redis is out of memory. No declared keys.
 * ARGV[1] prefix, ARGV[2] most entries to remove, ARGV[3] count k of scopes, ARGV[4..3+k]
 * scopes, ARGV[4+k..] tags. Reply: {more (1 when entries are left to remove), '<b>:<key>'...}.
 */
export const INVALIDATE = script('invalidate', INVALIDATE_BODY);

/** {@link INVALIDATE} for the scopes (buckets) of one cluster node, across their slots. */
export const INVALIDATE_NODE = script(
  'invalidateNode',
  INVALIDATE_BODY,
  'allow-oom,allow-cross-slot-keys',
);

/** Every script, for loading them into a server's script cache ahead of use (preload.ts). */
export const SCRIPTS: readonly Script[] = [
  GET,
  LEASE,
  SET,
  RELEASE,
  DELETE,
  INVALIDATE,
  INVALIDATE_NODE,
];

type Connection = Redis | Cluster;
type ScriptCommand = (script: string, numKeys: number, ...rest: Arg[]) => Promise<unknown>;
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
  keys: readonly (string | Buffer)[],
  args: readonly Arg[],
  { buffers = false }: RunOptions = {},
): Promise<unknown> {
  // The named commands rather than call('evalsha', …): under enableAutoPipelining, ioredis 5
  // and 6 crash the process on call / callBuffer. Their Buffer forms exist on every client but
  // are missing from ioredis's typings.
  const send = (bySha: boolean): Promise<unknown> => {
    const name = `${bySha ? 'evalsha' : 'eval'}${buffers ? 'Buffer' : ''}` as const;
    const run = (conn as unknown as Record<typeof name, ScriptCommand>)[name].bind(conn);
    return run(bySha ? s.sha : s.lua, keys.length, ...keys, ...args);
  };
  try {
    return await send(true);
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
    return await send(false);
  }
}
