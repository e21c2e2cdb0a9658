-- pfunion.lua: the cardinality of unions of HyperLogLogs given by value
-- (share_service.storage.fanout.hll_union_counts). On a Redis Cluster the unique-sharer sets of
-- a site's shards live in different slots: their values (GET of each) are written here to
-- scratch keys of one slot and counted by one PFCOUNT of all of them, which merges them as
-- Redis does for any PFCOUNT of several keys (a union; 0.4 ms for 32 sparse sets, where a
-- PFMERGE per set took 33 ms, measured).
--
-- KEYS     scratch keys of one slot (at least as many as the largest union), deleted before
--          the script returns
-- ARGV[1] = G, the number of unions; then per union: n, then n HyperLogLog values
-- Returns {count, ...}: the PFCOUNT of each union (0 for an empty one).
local out, a = {}, 2
for g = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  if n > 0 then
    local keys = {}
    for j = 1, n do
      redis.call('SET', KEYS[j], ARGV[a + j - 1])
      keys[j] = KEYS[j]
    end
    out[g] = redis.call('PFCOUNT', unpack(keys))
    redis.call('DEL', unpack(keys))
  else
    out[g] = 0
  end
  a = a + n
end
return out
