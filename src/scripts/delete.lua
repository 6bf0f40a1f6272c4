-- Deletes one document of a model with indexes: its index entries (from the stored
-- values), every key, and its id index entry, atomically.
--
-- KEYS[1]    root hash    KEYS[2]  id index of the shard
-- KEYS[3..]  the document's collection keys (ARGV[2] of them), then the shard's index
--            keys of the indexed fields
-- ARGV[1]    the id       ARGV[2]  number of collection keys    ARGV[3..] index specs
--
-- Reply: 1 when the document existed, 0 otherwise.

local id, ncoll = ARGV[1], tonumber(ARGV[2])
local specs = read_specs(3)
local old = indexed_values(1, specs)
for i, spec in ipairs(specs) do index_remove(spec, id, old[i]) end
local existed = redis.call('DEL', KEYS[1])
for k = 3, 2 + ncoll do redis.call('DEL', KEYS[k]) end
redis.call('ZREM', KEYS[2], id)
return existed
