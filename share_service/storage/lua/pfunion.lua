-- pfunion.lua: the cardinality of unions of HyperLogLogs given by value
-- (share_service.storage.fanout.hll_union_counts). On a Redis Cluster the unique-sharer sets of
-- a site's shards live in different slots: their values (GET of each) are merged here, in one
-- slot, by Redis' own PFMERGE and counted by PFCOUNT, exactly as PFCOUNT of the keys would.
--
-- KEYS[1], KEYS[2]  two scratch keys of one slot, deleted before the script returns
-- ARGV[1] = G, the number of unions; then per union: n, then n HyperLogLog values
-- Returns {count, ...}: the PFCOUNT of each union (0 for an empty one).
local acc, tmp = KEYS[1], KEYS[2]
local out, a = {}, 2
for g = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  redis.call('DEL', acc)
  for j = a, a + n - 1 do
    redis.call('SET', tmp, ARGV[j])
    redis.call('PFMERGE', acc, tmp)
  end
  a = a + n
  if n > 0 then out[g] = redis.call('PFCOUNT', acc) else out[g] = 0 end
end
redis.call('DEL', acc, tmp)
return out
