-- Writes the copies of a graph copy (relation/copy.rs), each a new document, all or
-- nothing: every key is checked first (types.lua), and none of the new documents may
-- exist.
--
-- ARGV[1]  number of model groups nw
-- groups   per model: its layout (doc.lua), the number d of documents, then per document
--          the positions of its root hash, first collection key, first index key, id
--          index and index manifest (0 without indexes) in KEYS, its id, its TTL in ms
--          ("0"), its content (doc.lua)
--
-- Reply: {1, "", "", ""} (the reply form of cascade.lua); an error when a copy's root
-- hash exists (RAPYER_EXISTS <key>), nothing written.

local nw = tonumber(ARGV[1])
local pos = 2
local found = {}
local writes = {}
for g = 1, nw do
  local L, at = layout(pos)
  local d = tonumber(ARGV[at])
  local docs = {}
  local p = at + 1
  for i = 1, d do
    docs[i] = p
    p = skip_doc(L, p + 7)
  end
  writes[g] = {L = L, docs = docs}
  pos = p
end

-- every key written, checked before anything is written
for _, g in ipairs(writes) do
  for _, p in ipairs(g.docs) do
    local rk, man = tonumber(ARGV[p]), tonumber(ARGV[p + 4])
    local bad = doc_types(g.L, rk, tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]))
      or wrong_type(tonumber(ARGV[p + 3]), 'zset', found)
    if man > 0 then bad = bad or wrong_type(man, 'hash', found) end
    if bad then return bad end
    if redis.call('EXISTS', KEYS[rk]) == 1 then
      return redis.error_reply('RAPYER_EXISTS ' .. KEYS[rk])
    end
  end
end

local now = 0
for _, g in ipairs(writes) do
  for _, p in ipairs(g.docs) do
    local ttl = tonumber(ARGV[p + 6])
    if ttl > 0 and now == 0 then now = now_ms() end
    local ids, man = tonumber(ARGV[p + 3]), tonumber(ARGV[p + 4])
    local _, added = write_doc(g.L, tonumber(ARGV[p]), tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]),
      KEYS[ids], ARGV[p + 5], ttl, now, true, p + 7)
    if added == 1 and man > 0 and redis.call('ZCARD', KEYS[ids]) == 1 then
      redis.call('HSETNX', KEYS[man], 'indexes', fingerprint(p + 7))
    end
  end
end
return {1, '', '', ''}
