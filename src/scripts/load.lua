-- Loads documents as one snapshot and pushes back the TTL of each one found (refresh
-- on read: get, bulk get, query loads).
--
-- KEYS      per document: its root hash, its shard's id index, its c collection keys
-- ARGV[1]   the refresh spec (refresh.lua)     ARGV[2]  the number of documents n
-- ARGV[3..] the kind of each collection key: "l" list, "h" hash, "s" set (c of them),
--           then the n ids, in KEYS order
--
-- Reply: per document, one reply per key read (root first), as HGETALL / LRANGE /
-- SMEMBERS reply; a key of the wrong Redis type gives its error in its place (nothing
-- is refreshed for that document). An id index of the wrong type refuses the call.

local n = tonumber(ARGV[2])
local stride = #KEYS / n
local c = stride - 2
for ids = 2, #KEYS, stride do
  local bad = wrong_type(ids, 'zset')
  if bad then return bad end
end
local out = {}
local d = 0
for root = 1, #KEYS, stride do
  local first = #out + 1
  read_doc(out, root, root + 2, root + 1 + c, 3)
  local whole = #out[first] > 0
  for i = first, #out do if type(out[i]) == 'table' and out[i].ok then whole = false end end
  if whole then
    refresh_when_due(root, root + 1 + c, root + 1, ARGV[3 + c + d], ARGV[1])
  end
  d = d + 1
end
return out
