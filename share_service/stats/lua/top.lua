-- top.lua: the most shared articles of a range (share_service.stats.queries.top_scores).
-- Builds (if missing) the cached union of the range's closed days, merges the open days (today)
-- into it exactly and answers only the top `limit`: the top `limit` of (closed + open) is among
-- the top `limit` of the closed union plus every article shared on an open day.
--
-- One call folds a group of the site's shards (all of them on one Redis, one per call on a
-- Redis Cluster): an article's scores live in its shard only, so the site's top `limit` is
-- among the groups' top `limit` (merged by the caller).
--
-- KEYS[1]          cache key (ZSET union of the closed days)
-- KEYS[2 .. 1+O]   the open days' top ZSETs (every shard of the group)
-- KEYS[2+O ..]     the closed days' top ZSETs (read only when the cache must be built; they
--                  may be left out: if the cache does not exist, the script answers -1 and
--                  the caller sends the call again with them)
-- ARGV[1] cache TTL (seconds)   ARGV[2] limit   ARGV[3] "1" when the range has closed days
-- ARGV[4] O, the number of open days' ZSETs
-- Returns {member, score, member, score, ...} best first (ties: the greater member first).
local cache = KEYS[1]
local closed = ARGV[3] == "1"
local limit, nopen = tonumber(ARGV[2]), tonumber(ARGV[4])
if closed and redis.call('EXISTS', cache) == 0 then
  if #KEYS == 1 + nopen then return -1 end
  local days = {}
  for i = 2 + nopen, #KEYS do days[#days + 1] = KEYS[i] end
  redis.call('ZUNIONSTORE', cache, #days, unpack(days))
  redis.call('ZADD', cache, 0, '')  -- marks an empty union as built; never listed (score 0)
  redis.call('EXPIRE', cache, tonumber(ARGV[1]))
end
local score, members = {}, {}
if closed then
  local top = redis.call('ZREVRANGEBYSCORE', cache, '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #top, 2 do
    members[#members + 1] = top[i]
    score[top[i]] = tonumber(top[i + 1])
  end
end
local fresh, names = {}, {}
for k = 2, 1 + nopen do
  local rows = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local m = rows[i]
    if fresh[m] == nil then fresh[m] = 0; names[#names + 1] = m end
    fresh[m] = fresh[m] + tonumber(rows[i + 1])
  end
end
local base = {}
if closed then
  for i = 1, #names, 1000 do
    local chunk = {}
    for j = i, math.min(i + 999, #names) do chunk[#chunk + 1] = names[j] end
    local got = redis.call('ZMSCORE', cache, unpack(chunk))
    for j = 1, #chunk do base[chunk[j]] = tonumber(got[j]) or 0 end
  end
end
for _, m in ipairs(names) do
  if score[m] == nil then members[#members + 1] = m end
  score[m] = (base[m] or 0) + fresh[m]
end
table.sort(members, function(a, b)
  if score[a] ~= score[b] then return score[a] > score[b] end
  return a > b
end)
local out = {}
for i = 1, math.min(limit, #members) do
  out[#out + 1] = members[i]
  out[#out + 1] = string.format('%d', score[members[i]])
end
return out
