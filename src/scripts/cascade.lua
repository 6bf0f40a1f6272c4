-- Applies a planned graph change (relation/cascade.rs: a cascading delete, a cleanup, a
-- TTL cascade), or finds the plan stale: every planned read is checked again first,
-- then nothing or everything is written. It only removes data and sets TTLs, so it runs
-- over `maxmemory` (a graph copy, which adds data, is copy.lua).
--
-- ARGV[1..4]  number of checks nc, of nullifications nn, of model groups to delete nm,
--             of TTLs to set nt
-- checks      per check: position of the shard's id index in KEYS, of the foreign-key
--             index, the id referred to, the number n of referring ids planned, the n ids
-- nullify     per reference to remove: kind ("s" root field, "l" list, "e" set), the
--             positions of the referring document's root hash, of its collection (0 for
--             "s"), of the index; the field path, the referring id, the id referred to
-- groups      per model: its layout (doc.lua), the number d of documents, then per
--             document the positions of its root hash, first collection key, first index
--             key and id index, and its id
-- ttls        per document: the positions of its root hash, of its id index, the number
--             of its collection keys (following the root hash), its id, the TTL in ms
--
-- Reply: {1, per deleted document "1" when it existed else "0", per removal "1" when the
-- reference was there else "0", per TTL "1" when the document existed else "0"} (three
-- strings); {0, i} when check i (1-based) no longer holds (nothing written: the caller
-- plans again). A key of another Redis type is refused before anything is written
-- (types.lua).

local nc, nn, nm, nt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pos = 5
local checks = {}
for i = 1, nc do
  local n = tonumber(ARGV[pos + 3])
  checks[i] = {ids = tonumber(ARGV[pos]), index = tonumber(ARGV[pos + 1]), value = ARGV[pos + 2],
               first = pos + 4, n = n}
  pos = pos + 4 + n
end
local nulls = {}
for i = 1, nn do
  nulls[i] = {kind = ARGV[pos], root = tonumber(ARGV[pos + 1]), coll = tonumber(ARGV[pos + 2]),
              index = tonumber(ARGV[pos + 3]), path = ARGV[pos + 4], id = ARGV[pos + 5],
              target = ARGV[pos + 6]}
  pos = pos + 7
end
local groups = {}
for g = 1, nm do
  local L, at = layout(pos)
  local d = tonumber(ARGV[at])
  groups[g] = {L = L, d = d, first = at + 1}
  pos = at + 1 + 5 * d
end
local ttls = {}
for i = 1, nt do
  ttls[i] = {root = tonumber(ARGV[pos]), ids = tonumber(ARGV[pos + 1]), c = tonumber(ARGV[pos + 2]),
             id = ARGV[pos + 3], ms = tonumber(ARGV[pos + 4])}
  pos = pos + 5
end

-- every key read or written, checked before anything runs
local found = {}
for _, c in ipairs(checks) do
  local bad = wrong_type(c.ids, 'zset', found) or wrong_type(c.index, 'zset', found)
  if bad then return bad end
end
for _, u in ipairs(nulls) do
  local bad = wrong_type(u.root, 'hash', found) or wrong_type(u.index, 'zset', found)
  if u.kind == 'l' then bad = bad or wrong_type(u.coll, 'list', found) end
  if u.kind == 'e' then bad = bad or wrong_type(u.coll, 'set', found) end
  if bad then return bad end
end
for _, g in ipairs(groups) do
  for p = g.first, g.first + 5 * (g.d - 1), 5 do
    local bad = erase_types(g.L, tonumber(ARGV[p]), tonumber(ARGV[p + 1]))
      or wrong_type(tonumber(ARGV[p + 3]), 'zset', found)
    for k = 0, g.L.x - 1 do bad = bad or wrong_type(tonumber(ARGV[p + 2]) + k, 'zset', found) end
    if bad then return bad end
  end
end
for _, u in ipairs(ttls) do
  local bad = wrong_type(u.ids, 'zset', found)
  if bad then return bad end
end

-- the plan still holds: each index still lists exactly the live referring ids planned
local cleared = {}
for i, c in ipairs(checks) do
  if not cleared[c.ids] then clear_expired(KEYS[c.ids]); cleared[c.ids] = true end
  local now = live_refs(KEYS[c.ids], KEYS[c.index], c.value)
  if #now ~= c.n then return {0, i} end
  for j = 1, c.n do
    if now[j] ~= ARGV[c.first + j - 1] then return {0, i} end
  end
end

local removed = {}
for _, u in ipairs(nulls) do
  local hit = 0
  if u.kind == 's' then
    if redis.call('HGET', KEYS[u.root], u.path) == u.target then
      hit = redis.call('HDEL', KEYS[u.root], u.path)
    end
  elseif u.kind == 'l' then
    hit = redis.call('LREM', KEYS[u.coll], 0, u.target)
  else
    hit = redis.call('SREM', KEYS[u.coll], u.target)
  end
  redis.call('ZREM', KEYS[u.index], lex_member(u.target, u.id))
  removed[#removed + 1] = hit > 0 and '1' or '0'
end

local deleted = {}
for _, g in ipairs(groups) do
  for p = g.first, g.first + 5 * (g.d - 1), 5 do
    local rk, ck, ik, ids = tonumber(ARGV[p]), tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3])
    deleted[#deleted + 1] = tostring(delete_doc(g.L, rk, ck, ik, KEYS[ids], ARGV[p + 4]))
  end
end
local extended = {}
for _, u in ipairs(ttls) do
  if redis.call('EXISTS', KEYS[u.root]) == 1 then
    refresh_ttl(u.root, u.root + u.c, u.ids, u.id, u.ms)
    extended[#extended + 1] = '1'
  else
    extended[#extended + 1] = '0'
  end
end
return {1, table.concat(deleted), table.concat(removed), table.concat(extended)}
