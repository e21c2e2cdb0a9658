-- popular.lua: the most shared articles of the last days, weighted by age
-- (share_service.recommend.engine.Recommender.shares). One call folds a group of a site's
-- shards (all of them on one Redis, one per call on a Redis Cluster); an article's scores live
-- in its shard only, so the site's top `limit` is among the groups' top `limit`.
--
-- KEYS[1]     scratch ZSET of the group's slot, deleted before the script returns
-- KEYS[2..]   the daily top ZSETs (keyspace.top_day) to add up
-- ARGV[1]     limit
-- ARGV[2..]   one weight per daily ZSET, in KEYS order (e.g. 1 / (1 + days ago))
-- Returns {member, weighted score, ...}, best first (ties: the greater member first).
local n = #KEYS - 1
if n == 0 then return {} end
local args = {'ZUNIONSTORE', KEYS[1], n}
for k = 2, #KEYS do args[#args + 1] = KEYS[k] end
args[#args + 1] = 'WEIGHTS'
for k = 2, #ARGV do args[#args + 1] = ARGV[k] end
redis.call(unpack(args))
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
redis.call('DEL', KEYS[1])
return top
