-- migrate.lua: merge the value of one key of the old one-slot layout into one key of the sharded
-- layout, once (share_service.storage.migrate; ``flask --app wsgi storage migrate``).
--
-- KEYS[1]  the target key (sharded layout)
-- KEYS[2]  the SET of old keys already merged into this shard (keyspace.migrated; same slot)
-- KEYS[3]  a scratch key of the same slot (HyperLogLogs), deleted before returning
-- ARGV[1]  op: "hincr"  HINCRBY each field/value pair (counters add up)
--              "hset"   HSET each field/value pair (the article id -> URL map)
--              "zincr"  ZINCRBY each member/score pair (top sets add up)
--              "pfmerge" PFMERGE the one HyperLogLog value given (a union: idempotent anyway)
-- ARGV[2]  marker: the old key's name; a marker already in KEYS[2] means merged before
-- ARGV[3]  the old key's remaining time to live in ms (-1: none): the target keeps the longer
-- ARGV[4..] the payload (pairs, or one HyperLogLog value)
-- Returns 1 when merged now, 0 when it had been merged before.
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return 0 end
local op = ARGV[1]
if op == 'hincr' then
  for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
elseif op == 'hset' then
  for i = 4, #ARGV, 1000 do
    redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
elseif op == 'zincr' then
  for i = 4, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i]) end
elseif op == 'pfmerge' then
  redis.call('SET', KEYS[3], ARGV[4])
  redis.call('PFMERGE', KEYS[1], KEYS[3])
  redis.call('DEL', KEYS[3])
else
  return redis.error_reply('unknown op ' .. op)
end
local pttl = tonumber(ARGV[3])
if pttl > 0 then
  local current = redis.call('PTTL', KEYS[1])
  if current == -1 or current < pttl then redis.call('PEXPIRE', KEYS[1], pttl) end
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], 30 * 86400)
return 1
