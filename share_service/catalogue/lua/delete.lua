-- delete.lua: remove one article from a site's catalogue (share_service.catalogue.store
-- .delete_article); the deletion gets the next number of the change sequence.
--
-- KEYS[1] seq HASH  KEYS[2] changes ZSET  KEYS[3] digests HASH  KEYS[4] the article HASH
-- ARGV[1] the article id   ARGV[2] the epoch to set if the catalogue has none yet
-- Returns 1 if the article existed, else 0 (and then nothing is written).
local existed = redis.call('DEL', KEYS[4])
redis.call('HDEL', KEYS[3], ARGV[1])
if existed == 1 then
  redis.call('HSETNX', KEYS[1], 'epoch', ARGV[2])
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
end
return existed
