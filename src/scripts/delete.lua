-- Deletes one document of a model with indexes: its index entries (from the stored
-- values), every key, and its id index entry, atomically.
--
-- KEYS[1]    root hash          KEYS[2]  id index of the document's shard
-- KEYS[3..]  every collection key, in schema order; then the shard's index keys
-- ARGV[1]    the id             ARGV[2..]  the model's layout (doc.lua)
--
-- Reply: 1 when the document existed, 0 otherwise.

local L = layout(2)
return delete_doc(L, 1, 3, 3 + L.c, KEYS[2], ARGV[1])
