-- Loads one document as one snapshot and pushes its TTL back (refresh on read).
--
-- KEYS[1]    root hash        KEYS[2]  id index of the shard
-- KEYS[3..]  every collection key of the document
-- ARGV[1]    the id           ARGV[2]  TTL in ms
-- ARGV[3..]  the kind of each collection key: "l" list, "h" hash, "s" set
--
-- Reply: one array per key read (root first), as HGETALL / LRANGE / SMEMBERS reply.

local bad = wrong_type(2, 'zset')
if bad then return bad end
local out = read_doc({}, 1, 3, #KEYS, 3)
-- a refused read (a key of another type) writes nothing: no refresh
local whole = true
for _, r in ipairs(out) do if r.err then whole = false end end
if whole and #out[1] > 0 then
  refresh_ttl(1, #KEYS, 2, ARGV[1], tonumber(ARGV[2]))
end
return out
