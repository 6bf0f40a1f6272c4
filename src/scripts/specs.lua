-- Index specs as exec.lua and reindex.lua read them, prepended after index.lua
-- (scripts/mod.rs).

-- Index specs of one document, from ARGV[at]: count n, then per index: field path,
-- kind (index.lua's letters), the index key's position in KEYS, and where the values
-- live relative to the document's root key (0: the root hash itself; k: the k-th key
-- after it). Returns the specs and the ARGV position after them.
local function read_specs(at)
  local specs = {}
  local n = tonumber(ARGV[at])
  for i = 1, n do
    local b = at + 1 + (i - 1) * 4
    specs[i] = {path = ARGV[b], kind = ARGV[b + 1], key = KEYS[tonumber(ARGV[b + 2])], src = tonumber(ARGV[b + 3])}
  end
  return specs, at + 1 + n * 4
end

-- The stored indexed value of `spec` for the document whose root hash is key `root`;
-- `coll_key(src)` names its collection key for a spec's value source: the root field's
-- text, or for a collection the table of its distinct elements (nil: no value).
local function spec_value(spec, root, coll_key)
  if spec.kind == 'n' or spec.kind == 's' then
    return redis.call('HGET', root, spec.path)
  end
  local key = coll_key(spec.src)
  local items
  if spec.kind == 'l' then items = redis.call('LRANGE', key, 0, -1) else items = redis.call('SMEMBERS', key) end
  return distinct(items, 1, #items)
end

-- A coll_key for documents laid out as KEYS[root], then its collections at KEYS[root + src].
local function keys_after(root)
  return function(src) return KEYS[root + src] end
end

-- The stored indexed values of a document (as spec_value; root fields in one HMGET).
local function indexed_values(root, coll_key, specs)
  local values, paths, at = {}, {}, {}
  for i, spec in ipairs(specs) do
    if spec.kind == 'n' or spec.kind == 's' then
      paths[#paths + 1] = spec.path
      at[#paths] = i
    else
      values[i] = spec_value(spec, root, coll_key)
    end
  end
  if #paths > 0 then
    local got = redis.call('HMGET', root, unpack(paths))
    for j = 1, #paths do
      if got[j] then values[at[j]] = got[j] end
    end
  end
  return values
end
