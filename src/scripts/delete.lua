-- Deletes one document of a model with indexes: its index entries (from the stored
-- values), every key, and its id index entry, atomically.
--
-- KEYS[1]    root hash          KEYS[2]  id index of the document's shard
-- KEYS[3..]  every collection key, in schema order; then the shard's index keys
-- ARGV[1]    the id             ARGV[2..]  the model's layout (doc.lua)
--
-- Reply: 1 when the document existed, 0 otherwise; a key it must read or write that holds
-- another Redis type is refused first, nothing deleted (types.lua).

local L = layout(2)
local bad = erase_types(L, 1, 3) or wrong_type(2, 'zset')
for i = 1, L.x do bad = bad or wrong_type(2 + L.c + i, 'zset') end
if bad then return bad end
return delete_doc(L, 1, 3, 3 + L.c, KEYS[2], ARGV[1])
