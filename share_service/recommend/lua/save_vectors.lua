-- save_vectors.lua: store one batch of article vectors of ONE site and model, atomically
-- (share_service.recommend.vectors.embed_pending), log each change for the workers, and move
-- the embedding queue's cursor past the catalogue changes the batch covered.
--
-- KEYS[1] vectors HASH aid -> packed vector   KEYS[2] vector seq HASH (epoch, seq, cursor,
-- cat_epoch)                                  KEYS[3] vector changes ZSET aid -> seq
-- ARGV[1] the epoch to set if the log has none yet
-- ARGV[2] the catalogue sequence number embedded up to (the new cursor)
-- ARGV[3] the catalogue epoch that number belongs to
-- ARGV[4..] pairs: aid, packed vector ("" = the article is gone: remove its vector)
-- Returns the number of vectors written or removed.
redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1])
local changed = 0
for i = 4, #ARGV, 2 do
  local aid, blob = ARGV[i], ARGV[i + 1]
  local moved = 1
  if blob == '' then
    moved = redis.call('HDEL', KEYS[1], aid)
  else
    redis.call('HSET', KEYS[1], aid, blob)
  end
  if moved == 1 then
    local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
    redis.call('ZADD', KEYS[3], seq, aid)
    changed = changed + 1
  end
end
redis.call('HSET', KEYS[2], 'cursor', ARGV[2], 'cat_epoch', ARGV[3])
return changed
