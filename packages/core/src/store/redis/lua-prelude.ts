// The Lua functions every script of the store starts with (scripts.ts): packed lists, key names,
// the scope's clock and tag versions, removing an entry, fill locks, expiries.

/** Prepended to every script's body. */
export const PRELUDE = `
-- Lists stored in one field: '<byte length>:<bytes>' per item, so any bytes fit.
local function split(s)
  local list, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local len = tonumber(string.sub(s, pos, colon - 1))
    list[#list + 1] = string.sub(s, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return list
end

local function pack(list)
  local parts = {}
  for i, s in ipairs(list) do parts[i] = #s .. ':' .. s end
  return table.concat(parts)
end

-- Name bases of a bucket and its scope.
local function names(prefix, bucket, scope)
  local s = '{' .. scope .. '}'
  return prefix .. 'values:{' .. bucket .. '}', prefix .. 'tv:' .. s, prefix .. 'ti:' .. s,
    prefix .. 'clock:' .. s
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Removes an entry (metadata, value, its places in its tags' indexes); 1 if it existed. With
-- only_tag, only if the entry still carries that tag (an index may list a key whose entry was
-- replaced after it expired).
local function remove(meta, values, ti, member, only_tag)
  local h = redis.call('HMGET', meta, 'id', 'g')
  local tags = h[2] and split(h[2]) or {}
  if only_tag then
    local carries = false
    for _, tag in ipairs(tags) do if tag == only_tag then carries = true end end
    if not carries then
      redis.call('ZREM', ti .. only_tag, member)
      return 0
    end
  end
  if h[1] then redis.call('DEL', values .. h[1]) end
  for _, tag in ipairs(tags) do redis.call('ZREM', ti .. tag, member) end
  return redis.call('DEL', meta)
end

-- The scope's clock {id, n}; a new incarnation (after a flush, restart or eviction) gets a new
-- id, so its versions never equal older ones and leases taken before it are refused.
local function clock(ckey)
  local c = redis.call('HMGET', ckey, 'id', 'n')
  if c[1] then return c end
  local t = redis.call('TIME')
  c = {t[1] .. '.' .. t[2], '0'}
  redis.call('HSET', ckey, 'id', c[1], 'n', 0)
  return c
end

local function clock_of(v)
  return string.sub(v, 1, (string.find(v, ':', 1, true) or 0) - 1)
end

local function number_of(v)
  return tonumber(string.sub(v, (string.find(v, ':', 1, true) or 0) + 1)) or math.huge
end

-- A tag version that compares unequal to every earlier one: '<clock id>:<n>'.
local function new_version(ckey, id)
  return id .. ':' .. redis.call('HINCRBY', ckey, 'n', 1)
end

-- Takes a lease: gives each tag in ARGV[first..] a version of the current clock (so setLeased can
-- tell whether it changed since) and returns the clock {id, n}. Writes only for new tags.
local function lease(ckey, tv, first, ttl)
  local c = clock(ckey)
  for i = first, #ARGV do
    local name = tv .. ARGV[i]
    local v = redis.call('GET', name)
    if v and clock_of(v) == c[1] then
      redis.call('PEXPIRE', name, ttl, 'GT')
    else
      redis.call('SET', name, new_version(ckey, c[1]), 'PX', ttl)
    end
  end
  return redis.call('HMGET', ckey, 'id', 'n')
end

-- Takes the key's fill lock (stampede protection) for ms unless it is held; '' is a holder's
-- passed marker. Reply items: 1 taken; 2 passed; 0, holder's token, ms left: busy; none if the
-- lock could not be written (Redis out of memory).
local function take_lock(lock, token, ms)
  local holder = redis.call('GET', lock)
  if holder == '' then return {2} end
  if holder then return {0, holder, redis.call('PTTL', lock)} end
  if pcall(redis.call, 'SET', lock, token, 'PX', ms) then return {1} end
  return {}
end

-- Makes key expire at score (ms, or 'inf': never); with 'GT', only ever later.
local function expire_at(key, score, gt)
  if score == 'inf' then redis.call('PERSIST', key)
  elseif gt then redis.call('PEXPIREAT', key, score, 'GT')
  else redis.call('PEXPIREAT', key, score) end
end
`;
