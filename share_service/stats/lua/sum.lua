-- sum.lua: per group, the field-by-field sum of its counter HASHes and the unique sharers of its
-- HyperLogLogs, folded inside Redis (share_service.stats.queries: summary, article).
--
-- KEYS: [scratch key]   (only in "dump" mode: where the group's HyperLogLogs are merged)
--       then per group in order: [sum cache HASH, HLL cache]   (only when the group has a cache)
--                                closed hashes, closed HLLs, open hashes, open HLLs
-- ARGV[1] = G (groups), ARGV[2] = cache TTL (seconds), ARGV[3] = mode:
--           "count": answer the PFCOUNT of each group's HLLs (every key of the site on this
--                    server: one Redis);
--           "dump":  answer the value of their union instead (a HyperLogLog, "" when none),
--                    for the caller to merge with the other shards' (a Redis Cluster, where
--                    each call folds one shard, one slot);
--           then per group 5 values: has_cache (1/0), number of closed hashes, closed HLLs,
--           open hashes, open HLLs
-- A missing cache is built from the closed keys (HSET of the sums + marker "_built"; PFMERGE).
-- Returns {{field, sum, ...}, pfcount or HyperLogLog value} per group.
local g, ttl, dump = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == 'dump'
local idx, a = 1, 4
local scratch
if dump then scratch = KEYS[1]; idx = 2 end
local res = {}
local function add(sums, order, f, v)
  if sums[f] == nil then sums[f] = 0; order[#order + 1] = f end
  sums[f] = sums[f] + v
end
local function sum_keys(sums, order, from, to)
  for k = from, to do
    local h = redis.call('HGETALL', KEYS[k])
    for j = 1, #h, 2 do add(sums, order, h[j], tonumber(h[j + 1])) end
  end
end
local function span(from, n)
  local t = {}
  for k = from, from + n - 1 do t[#t + 1] = KEYS[k] end
  return t
end
local function union(pfkeys)
  if #pfkeys == 0 then return '' end
  if #pfkeys == 1 then return redis.call('GET', pfkeys[1]) or '' end
  redis.call('DEL', scratch)
  redis.call('PFMERGE', scratch, unpack(pfkeys))
  local value = redis.call('GET', scratch)
  redis.call('DEL', scratch)
  return value
end
for gi = 1, g do
  local cached = ARGV[a] == '1'
  local ch, cp = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local oh, op = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  a = a + 5
  local sums, order, pfkeys = {}, {}, {}
  if cached then
    local sk, pk = KEYS[idx], KEYS[idx + 1]
    idx = idx + 2
    if redis.call('EXISTS', sk) == 0 or redis.call('EXISTS', pk) == 0 then
      local cs, co = {}, {}
      sum_keys(cs, co, idx, idx + ch - 1)
      local flat = {'_built', '1'}
      for _, f in ipairs(co) do flat[#flat + 1] = f; flat[#flat + 1] = string.format('%d', cs[f]) end
      redis.call('DEL', sk, pk)
      redis.call('HSET', sk, unpack(flat))
      if cp > 0 then redis.call('PFMERGE', pk, unpack(span(idx + ch, cp))) else redis.call('PFADD', pk) end
      redis.call('EXPIRE', sk, ttl)
      redis.call('EXPIRE', pk, ttl)
    end
    local h = redis.call('HGETALL', sk)
    for j = 1, #h, 2 do
      if h[j] ~= '_built' then add(sums, order, h[j], tonumber(h[j + 1])) end
    end
    pfkeys[1] = pk
  else
    sum_keys(sums, order, idx, idx + ch - 1)
    for _, k in ipairs(span(idx + ch, cp)) do pfkeys[#pfkeys + 1] = k end
  end
  idx = idx + ch + cp
  sum_keys(sums, order, idx, idx + oh - 1)
  for _, k in ipairs(span(idx + oh, op)) do pfkeys[#pfkeys + 1] = k end
  idx = idx + oh + op
  local flat = {}
  for _, f in ipairs(order) do flat[#flat + 1] = f; flat[#flat + 1] = string.format('%d', sums[f]) end
  local pf
  if dump then
    pf = union(pfkeys)
  else
    pf = 0
    if #pfkeys > 0 then pf = redis.call('PFCOUNT', unpack(pfkeys)) end
  end
  res[gi] = {flat, pf}
end
return res
