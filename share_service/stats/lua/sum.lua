-- sum.lua: per group, the field-by-field sum of its counter HASHes and the unique sharers of its
-- HyperLogLogs, folded inside Redis (share_service.stats.queries: summary, article).
--
-- KEYS: per group in order: [sum cache HASH, HLL cache]   (only when the group has a cache)
--                                closed hashes, closed HLLs, open hashes, open HLLs
--       A group with a cache may leave out its closed keys (0 closed hashes and HLLs given,
--       `need` closed days): the usual case, the cache exists. If it does not, the script
--       answers -1 (and writes nothing): the caller sends the call again with them.
-- ARGV[1] = G (groups), ARGV[2] = cache TTL (seconds), ARGV[3] = mode:
--           "count":  answer the PFCOUNT of each group's HLLs (every key of the site on this
--                     server: one Redis);
--           "values": answer the values (GET) of the open days' HLLs instead, for the caller
--                     to count with the other shards' (a Redis Cluster, where each call folds
--                     one shard, one slot) and a cached union of the closed days;
--           "values+closed": also the value of the closed days' HLL cache (to build that);
--           then per group 6 values: has_cache (1/0), number of closed hashes, closed HLLs,
--           open hashes, open HLLs, need (closed hashes the cache stands for)
-- A missing cache is built from the closed keys (HSET of the sums + marker "_built"; PFMERGE).
-- Returns per group {{field, sum, ...}, pfcount} ("count"), or {{field, sum, ...},
-- {open HLL values}, closed HLL value or ""} ("values", "values+closed").
local g, ttl, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local values, closed_value = mode ~= 'count', mode == 'values+closed'
local idx, a = 1, 4
local res = {}
do  -- a cache to build whose closed keys were left out: ask for them
  local i, k = 4, idx
  for _ = 1, g do
    local cached, ch, cp = ARGV[i] == '1', tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    local oh, op, need = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    if cached then
      if ch < need and (redis.call('EXISTS', KEYS[k]) == 0 or redis.call('EXISTS', KEYS[k + 1]) == 0) then
        return -1
      end
      k = k + 2
    end
    k = k + ch + cp + oh + op
    i = i + 6
  end
end
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
for gi = 1, g do
  local cached = ARGV[a] == '1'
  local ch, cp = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local oh, op = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  a = a + 6
  local sums, order, pfkeys, closed_hll = {}, {}, {}, ''
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
    if values then
      if closed_value then closed_hll = redis.call('GET', pk) or '' end
    else
      pfkeys[1] = pk
    end
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
  if values then
    local open = {}
    for _, k in ipairs(pfkeys) do
      local v = redis.call('GET', k)
      if v then open[#open + 1] = v end
    end
    res[gi] = {flat, open, closed_hll}
  else
    local pf = 0
    if #pfkeys > 0 then pf = redis.call('PFCOUNT', unpack(pfkeys)) end
    res[gi] = {flat, pf}
  end
end
return res
