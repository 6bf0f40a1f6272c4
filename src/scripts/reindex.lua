-- Rebuilds one shard's indexes, batch by batch (see Model::reindex).
--
-- KEYS[1]    the shard's index manifest
-- KEYS[2..]  the shard's current index keys (as many as the specs say), then per ARGV
--            mode: "clear": old index keys to drop; "batch": per document of the batch
--            its root hash, id index and collection keys (ARGV[3 + 4n + 1] keys each)
-- ARGV[1]    "clear" | "batch" | "finish"
-- ARGV[2]    the model's index fingerprint
-- ARGV[3..]  the index specs (see read_specs), then for "batch" the batch's ids, in the
--            order of their root keys
--
-- clear: drops the current and old index keys (writes made from now on maintain their
-- own entries); batch: adds each existing document's entries (idempotent) and stamps
-- the fingerprint in its `$i` field; finish: records the fingerprint in the manifest.

local specs, after = read_specs(3)
local first_extra = 2 + #specs
if ARGV[1] == 'clear' then
  for k = 2, #KEYS do redis.call('DEL', KEYS[k]) end
  redis.call('DEL', KEYS[1])
  return 1
elseif ARGV[1] == 'batch' then
  local stride = tonumber(ARGV[after])
  local done = 0
  local n = 0
  for root = first_extra, #KEYS, stride do
    n = n + 1
    local id = ARGV[after + n]
    if redis.call('EXISTS', KEYS[root]) == 1 then
      local values = indexed_values(KEYS[root], keys_after(root), specs)
      for i, spec in ipairs(specs) do index_update(spec.key, spec.kind == 'n', id, nil, values[i]) end
      redis.call('HSET', KEYS[root], '$i', ARGV[2])
      done = done + 1
    end
  end
  return done
end
redis.call('HSET', KEYS[1], 'indexes', ARGV[2])
return 1
