-- record.lua: count one batch of events of ONE site, atomically (share_service.counting.recorder).
--
-- KEYS: every key the batch touches, all named by share_service/keys.py and all carrying the
--       site's {hash tag} (one Redis Cluster slot): counter HASHes, top-article ZSETs, unique-
--       sharer HyperLogLogs, the aid -> canonical URL HASH, and one dedupe STRING per event.
-- ARGV (flat list, read left to right):
--   dedupe_ttl      seconds: each event's dedupe key is SET NX EX dedupe_ttl
--   retention_ttl   seconds: EXPIRE set on every per-day / per-hour key the batch touches
--   T, then T key indexes         keys that expire (per-day / per-hour)
--   G, then G groups; events of one group increment the same things:
--        nh, then nh pairs (key index, field)    HINCRBY key field <counted events of group>
--        nz, then nz pairs (key index, member)   ZINCRBY key <counted events of group> member
--        np, then np key indexes                 PFADD key <visitor of each counted event>
--   U, then U triples (key index, field, value)  HSET (article id -> canonical URL)
--   N, then N triples (group, dedupe key index, visitor hash)
-- An event is counted when SET NX on its dedupe key succeeds (exact dedupe, event by event);
-- counts are summed per (key, field) before one HINCRBY / ZINCRBY / PFADD per distinct target.
-- Returns {counted, duplicates}.

local i = 1
local function nextarg()
  local v = ARGV[i]
  i = i + 1
  return v
end

local dedupe_ttl = nextarg()
local retention = nextarg()

local ttl_keys = {}
for _ = 1, tonumber(nextarg()) do ttl_keys[#ttl_keys + 1] = tonumber(nextarg()) end

local groups = {}
for g = 1, tonumber(nextarg()) do
  local grp = {h = {}, z = {}, p = {}, count = 0}
  for _ = 1, tonumber(nextarg()) do
    local k = tonumber(nextarg())
    grp.h[#grp.h + 1] = {k, nextarg()}
  end
  for _ = 1, tonumber(nextarg()) do
    local k = tonumber(nextarg())
    grp.z[#grp.z + 1] = {k, nextarg()}
  end
  for _ = 1, tonumber(nextarg()) do grp.p[#grp.p + 1] = tonumber(nextarg()) end
  groups[g] = grp
end

local urls = {}
for _ = 1, tonumber(nextarg()) do
  local k = tonumber(nextarg())
  local f = nextarg()
  urls[#urls + 1] = {k, f, nextarg()}
end

-- Events: exact dedupe, one SET NX per event.
local counted, duplicates = 0, 0
local hll = {}
for _ = 1, tonumber(nextarg()) do
  local grp = groups[tonumber(nextarg())]
  local dk = tonumber(nextarg())
  local visitor = nextarg()
  if redis.call('SET', KEYS[dk], '1', 'NX', 'EX', dedupe_ttl) then
    counted = counted + 1
    grp.count = grp.count + 1
    for _, k in ipairs(grp.p) do
      local list = hll[k]
      if not list then list = {}; hll[k] = list end
      list[#list + 1] = visitor
    end
  else
    duplicates = duplicates + 1
  end
end

-- Sum per (key, field) across groups, then one command per distinct target.
local hsum, zsum = {}, {}
for _, grp in ipairs(groups) do
  if grp.count > 0 then
    for _, op in ipairs(grp.h) do
      local t = hsum[op[1]]
      if not t then t = {}; hsum[op[1]] = t end
      t[op[2]] = (t[op[2]] or 0) + grp.count
    end
    for _, op in ipairs(grp.z) do
      local t = zsum[op[1]]
      if not t then t = {}; zsum[op[1]] = t end
      t[op[2]] = (t[op[2]] or 0) + grp.count
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
if counted > 0 then
  for _, u in ipairs(urls) do redis.call('HSET', KEYS[u[1]], u[2], u[3]) end
  for _, k in ipairs(ttl_keys) do redis.call('EXPIRE', KEYS[k], retention) end
end
return {counted, duplicates}
