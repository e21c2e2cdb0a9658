-- series.lua: one text line per point (a day or an hour), folded inside Redis
-- (share_service.stats.queries: timeseries, article):
--   "<shares> <copy> <qr> <native> <clickbacks> <rec_impression> <rec_click> <net>=<n>,<net>=<n>"
-- rec_impression and rec_click include their per-method fields (rec_impression:<method>, ...).
--
-- A point (a day or an hour) is P counter HASHes, the parts of the shards folded by this call
-- (all of a site's shards on one Redis; one shard per call on a Redis Cluster): they are summed.
--
-- KEYS: [series cache STRING (only when ARGV[2] == "1")], closed hashes, open hashes
--       (P consecutive hashes per point). With a cache the closed hashes may be left out
--       (ARGV[3] = 0, ARGV[6] = the number they would be): if the cache does not exist, the
--       script answers -1 and the caller sends the call again with them.
-- ARGV[1]: a network id to keep only its shares and clickbacks, or ""
-- ARGV[2]: "1" when KEYS[1] is the cache     ARGV[3]: number of closed hashes
-- ARGV[4]: cache TTL (seconds)               ARGV[5]: P, hashes per point
-- ARGV[6]: closed hashes the cache stands for
-- Returns all lines joined by "\n" (the closed days' part cached as one STRING).
local net, cached, nclosed, ttl = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), tonumber(ARGV[4])
local per, need = tonumber(ARGV[5]), tonumber(ARGV[6])
if cached and nclosed < need and redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local function line(first)
  local share, visit = 0, 0
  local c = {copy = 0, qr = 0, native = 0, rec_impression = 0, rec_click = 0}
  local nets, order = {}, {}
  for k = first, first + per - 1 do
    local h = redis.call('HGETALL', KEYS[k])
    for j = 1, #h, 2 do
      local f, v = h[j], tonumber(h[j + 1])
      local head = string.sub(f, 1, 6)
      if head == 'share:' then
        local n = string.sub(f, 7)
        if net == '' or n == net then
          share = share + v
          if nets[n] == nil then nets[n] = 0; order[#order + 1] = n end
          nets[n] = nets[n] + v
        end
      elseif head == 'visit:' then
        if net == '' or string.sub(f, 7) == net then visit = visit + v end
      elseif c[f] ~= nil then
        c[f] = c[f] + v
      elseif head == 'rec_im' or head == 'rec_cl' then  -- rec_impression:<method>, rec_click:<method>
        local kind = string.match(f, '^(rec_%a+):')
        if kind == 'rec_impression' or kind == 'rec_click' then c[kind] = c[kind] + v end
      end
    end
  end
  local pairs_ = {}
  for i, n in ipairs(order) do pairs_[i] = n .. '=' .. string.format('%d', nets[n]) end
  return string.format('%d %d %d %d %d %d %d ', share, c.copy, c.qr, c.native, visit,
                       c.rec_impression, c.rec_click) .. table.concat(pairs_, ',')
end
local first = 1
local parts = {}
if cached then
  first = 2
  local text = redis.call('GET', KEYS[1])
  if not text then
    local lines = {}
    for k = 2, 1 + nclosed, per do lines[#lines + 1] = line(k) end
    text = table.concat(lines, '\n')
    redis.call('SET', KEYS[1], text, 'EX', ttl)
  end
  parts[1] = text
  first = 2 + nclosed
end
local lines = {}
for k = first, #KEYS, per do lines[#lines + 1] = line(k) end
if #lines > 0 then parts[#parts + 1] = table.concat(lines, '\n') end
return table.concat(parts, '\n')
