-- pfunion.lua: the cardinality of unions of HyperLogLogs given by value
-- (share_service.storage.fanout.hll_union_counts). On a Redis Cluster the unique-sharer sets of
-- a site's shards live in different slots: their values (GET of each) are written here to
-- scratch keys of one slot and counted by one PFCOUNT of all of them, which merges them as
-- Redis does for any PFCOUNT of several keys (a union; 0.4 ms for 32 sparse sets, where a
-- PFMERGE per set took 33 ms, measured). A union may include a cached HyperLogLog of this slot
-- (the closed days of a stats range, merged over every shard), built from values given once.
--
-- KEYS     first the cache key of each union that has one (in order), then scratch keys of
--          the same slot (at least as many as the largest list of values); scratch keys are
--          deleted before the script returns
-- ARGV[1] = G, the number of unions; ARGV[2] = the caches' time to live (seconds)
-- then per union: has_cache (1/0), build (1/0), c, n, then c values to (re)build the cache
--          from (when build: the cache becomes their union, possibly empty), then n values to
--          count with it
-- Returns {count, ...}: the PFCOUNT of each union (0 for an empty one), or -1 when a cache
-- is missing and not to be built (nothing is written then): the caller sends its values.
local g, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local ncache = 0
do
  local a = 3
  for _ = 1, g do
    local has, build = ARGV[a] == '1', ARGV[a + 1] == '1'
    local c, n = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    if has then
      ncache = ncache + 1
      if not build and redis.call('EXISTS', KEYS[ncache]) == 0 then return -1 end
    end
    a = a + 4 + c + n
  end
end
local out, a, ci = {}, 3, 0
local function stage(from, n)
  local keys = {}
  for j = 1, n do
    keys[j] = KEYS[ncache + j]
    redis.call('SET', keys[j], ARGV[from + j - 1])
  end
  return keys
end
for u = 1, g do
  local has, build = ARGV[a] == '1', ARGV[a + 1] == '1'
  local c, n = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local counted = {}
  if has then
    ci = ci + 1
    local cache = KEYS[ci]
    if build then
      redis.call('DEL', cache)
      redis.call('PFADD', cache)
      if c > 0 then
        local staged = stage(a, c)
        redis.call('PFMERGE', cache, unpack(staged))
        redis.call('DEL', unpack(staged))
      end
      redis.call('EXPIRE', cache, ttl)
    end
    counted[1] = cache
  end
  a = a + c
  local staged = stage(a, n)
  a = a + n
  for _, k in ipairs(staged) do counted[#counted + 1] = k end
  if #counted > 0 then out[u] = redis.call('PFCOUNT', unpack(counted)) else out[u] = 0 end
  if n > 0 then redis.call('DEL', unpack(staged)) end
end
return out
