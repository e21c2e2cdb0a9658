-- save.lua: write one batch of validated catalogue records of ONE site, atomically
-- (share_service.catalogue.store.save_articles). A record whose digest equals the stored one is
-- skipped; a changed or new one replaces the whole article HASH and gets the next number of the
-- site's change sequence (the log the recommendation index syncs from).
--
-- Every key is under the site's catalogue tag {site} (one Redis Cluster slot).
-- KEYS[1] seq HASH (epoch, seq)      KEYS[2] changes ZSET aid -> seq
-- KEYS[3] digests HASH aid -> digest
-- KEYS[4..] one article HASH per record, in ARGV order
-- ARGV[1] the epoch to set if the catalogue has none yet
-- ARGV[2..] per record: aid, digest, nfields, then nfields field/value pairs
-- Returns the ids of the records actually written (changed or new).
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local changed = {}
local i = 2
for k = 4, #KEYS do
  local aid, dig, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  if redis.call('HGET', KEYS[3], aid) ~= dig then
    redis.call('DEL', KEYS[k])
    redis.call('HSET', KEYS[k], unpack(ARGV, i, i + 2 * n - 1))
    redis.call('HSET', KEYS[3], aid, dig)
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('ZADD', KEYS[2], seq, aid)
    changed[#changed + 1] = aid
  end
  i = i + 2 * n
end
return changed
