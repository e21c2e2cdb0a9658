-- record.lua: count one batch of events of ONE site, atomically (share_service.counting.recorder).
-- On a Redis Cluster a batch holds the events of one shard of the site (articles whose
-- keyspace.shard_of is that shard): every key carries the shard's {hash tag}, one slot. On one
-- Redis a batch holds every shard's events of the site (one call per flush, as before shards).
--
-- KEYS: every key the batch touches, all named by share_service/storage/keyspace.py and, on a
--       cluster, all carrying the batch's shard {hash tag}: the shards' aid -> canonical URL
--       HASHes, counter HASHes, top-article ZSETs and unique-sharer HyperLogLogs; then the N
--       events' dedupe STRINGs, in event order (KEYS[D + j] for event j); the LAST key is the
--       batch sequence STRING of the recorder that sent the batch (keyspace.batch_sequence).
-- ARGV (flat, read left to right):
--   dedupe_ttl      seconds: each event's dedupe key is SET NX EX dedupe_ttl
--   retention_ttl   seconds: EXPIRE for per-day / per-hour keys
--   T, then T key indexes     per-day keys whose TTL must be (re)set if written now
--   G, then G groups of 14: events of one group increment the same counters:
--        field       counter field, e.g. "share:facebook"
--        utm_field   "utm:<source>|<medium>|<campaign>" or "" (article hashes only)
--        member      the article id (top-set member)
--        url         canonical URL to record under the article id, or "" (already recorded)
--        u           index of the HASH (of the article's shard) where the URL is recorded
--        t ad sd sh st   indexes of the HASHes: article totals, article day, site day,
--                        site hour, site totals  -> HINCRBY field by the group's counted events
--        top topnet      indexes of the day's top ZSETs (0: none) -> ZINCRBY member
--        uv uva          indexes of the unique-sharer HLLs (0: none) -> PFADD visitors
--   D               index offset of the dedupe keys in KEYS
--   N, then N pairs (group, visitor hash)
--   seq             this batch's sequence number (ARGV[#ARGV - 1]): a recorder numbers its
--                   batches 1, 2, 3, ... and sends those of one slot in that order
--   seq_ttl         seconds the batch sequence key lives (ARGV[#ARGV])
-- Exactly once: a batch whose seq is not above the sequence stored for its recorder was
-- already written (a re-send after an unanswered call, a replay from the spool): nothing is
-- done and the 5th value returned is 1. Otherwise the sequence is stored with the counts, in the
-- same atomic script run (and so the same AOF / replication entry).
-- An event is counted when SET NX on its dedupe key succeeds (exact dedupe, event by event).
-- Counts are summed per (key, field) over the batch before one HINCRBY / ZINCRBY / PFADD per
-- distinct target. Returns {counted, duplicates, {key indexes given a TTL}, {groups whose URL
-- was recorded}, already_written (0 or 1)}.

local argv = ARGV
local seq_key = KEYS[#KEYS]
local seq = tonumber(argv[#argv - 1])
local last = tonumber(redis.call('GET', seq_key) or '0')
if seq <= last then
  return {0, 0, {}, {}, 1}
end
redis.call('SET', seq_key, seq, 'EX', argv[#argv])

local i = 1
local function nextarg()
  local v = argv[i]
  i = i + 1
  return v
end

local dedupe_ttl = nextarg()
local retention = nextarg()

local wants_ttl = {}
for _ = 1, tonumber(nextarg()) do wants_ttl[tonumber(nextarg())] = true end

local groups = {}
for g = 1, tonumber(nextarg()) do
  groups[g] = {
    field = nextarg(), utm = nextarg(), member = nextarg(), url = nextarg(),
    u = tonumber(nextarg()), t = tonumber(nextarg()), ad = tonumber(nextarg()), sd = tonumber(nextarg()),
    sh = tonumber(nextarg()), st = tonumber(nextarg()),
    top = tonumber(nextarg()), topnet = tonumber(nextarg()),
    uv = tonumber(nextarg()), uva = tonumber(nextarg()),
    count = 0,
  }
end

-- Events: exact dedupe, one SET NX per event.
local dbase = tonumber(nextarg())
local counted, duplicates = 0, 0
local hll = {}
local function hll_add(k, visitor)
  local list = hll[k]
  if not list then list = {}; hll[k] = list end
  list[#list + 1] = visitor
end
for j = 1, tonumber(nextarg()) do
  local grp = groups[tonumber(nextarg())]
  local visitor = nextarg()
  if redis.call('SET', KEYS[dbase + j], '1', 'NX', 'EX', dedupe_ttl) then
    counted = counted + 1
    grp.count = grp.count + 1
    if grp.uv > 0 then hll_add(grp.uv, visitor) end
    if grp.uva > 0 then hll_add(grp.uva, visitor) end
  else
    duplicates = duplicates + 1
  end
end

-- Sum per (key, field) across the groups that counted, then one command per distinct target.
local hsum, zsum, touched, url_groups = {}, {}, {}, {}
local function add(sums, k, f, n)
  local t = sums[k]
  if not t then t = {}; sums[k] = t end
  t[f] = (t[f] or 0) + n
  touched[k] = true
end
for g, grp in ipairs(groups) do
  local n = grp.count
  if n > 0 then
    add(hsum, grp.t, grp.field, n)
    add(hsum, grp.ad, grp.field, n)
    add(hsum, grp.sd, grp.field, n)
    add(hsum, grp.sh, grp.field, n)
    add(hsum, grp.st, grp.field, n)
    if grp.utm ~= '' then
      add(hsum, grp.t, grp.utm, n)
      add(hsum, grp.ad, grp.utm, n)
    end
    if grp.top > 0 then add(zsum, grp.top, grp.member, n) end
    if grp.topnet > 0 then add(zsum, grp.topnet, grp.member, n) end
    if grp.uv > 0 then touched[grp.uv] = true end
    if grp.uva > 0 then touched[grp.uva] = true end
    if grp.url ~= '' then
      redis.call('HSET', KEYS[grp.u], grp.member, grp.url)
      url_groups[#url_groups + 1] = g
    end
  end
end
for k, fields in pairs(hsum) do
  for f, n in pairs(fields) do redis.call('HINCRBY', KEYS[k], f, n) end
end
for k, members in pairs(zsum) do
  for m, n in pairs(members) do redis.call('ZINCRBY', KEYS[k], n, m) end
end
for k, list in pairs(hll) do
  for s = 1, #list, 500 do
    redis.call('PFADD', KEYS[k], unpack(list, s, math.min(s + 499, #list)))
  end
end
local expired = {}
for k in pairs(touched) do
  if wants_ttl[k] then
    redis.call('EXPIRE', KEYS[k], retention)
    expired[#expired + 1] = k
  end
end
return {counted, duplicates, expired, url_groups, 0}
