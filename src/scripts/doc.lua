-- Whole-document writes and deletes, shared by save.lua / delete.lua (one document) and
-- bulk.lua (many): prepended after common.lua.
--
-- A document is a table:
--   id, root (key), ids (its shard's id index key), ttl (ms, 0: none),
--   colls: per collection in schema order {key, kind ("l" list, "h" hash, "s" set),
--          first (ARGV position of its first item), count}
--   root_at, n: the 2n root hash field/value arguments start at ARGV[root_at]
--   specs: the index specs (read_specs' shape), with their shard's index keys
--   manifest, fingerprint: the shard's index manifest key and the model's fingerprint
--
-- The id index score is the document's expiry time in ms (server clock), +inf without a
-- TTL, so listing can skip and lazily drop ids whose document expired. Index entries are
-- computed from what is stored: the old values' entries go, the new values' come.

-- Lua's unpack() is limited to a few thousand values: send long argument runs in
-- batches. The batch size is even, so hash field/value pairs never split.
local function batched(cmd, key, first, count)
  local last = first + count - 1
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
end

local collection_writes = { l = 'RPUSH', h = 'HSET', s = 'SADD' }

-- The stored indexed values of document `d`.
local function stored_values(d)
  return indexed_values(d.root, function(src) return d.colls[src - 1].key end, d.specs)
end

-- Replaces document `d` wholly, collections included, with its index entries, TTL and
-- id index entry. `now`: the server clock in ms (read once per script); `fresh`: the
-- caller checked that the document does not exist (no old entries to read);
-- `manifests`: a table of the manifests this script has already seen to.
local function write_doc(d, now, fresh, manifests)
  local specs = d.specs
  -- the new indexed values, from the arguments (as they will be stored)
  local new = {}
  if #specs > 0 then
    -- the indexed root fields come first, in spec order (absent ones are skipped)
    local p, last = d.root_at, d.root_at + 2 * d.n
    for i, spec in ipairs(specs) do
      if spec.kind == 'n' or spec.kind == 's' then
        if p < last and ARGV[p] == spec.path then
          new[i] = ARGV[p + 1]
          p = p + 2
        end
      else
        local c = d.colls[spec.src - 1]
        new[i] = distinct(ARGV, c.first, c.first + c.count - 1)
      end
    end
  end
  local old = {}
  if not fresh and #specs > 0 then old = stored_values(d) end

  local dels = {}
  if not fresh then dels[1] = d.root end
  for _, c in ipairs(d.colls) do dels[#dels + 1] = c.key end
  if #dels > 0 then redis.call('DEL', unpack(dels)) end
  batched('HSET', d.root, d.root_at, 2 * d.n)
  for _, c in ipairs(d.colls) do
    if c.count > 0 then batched(collection_writes[c.kind], c.key, c.first, c.count) end
  end
  for i, spec in ipairs(specs) do index_update(spec, d.id, old[i], new[i]) end

  local score = '+inf'
  if d.ttl > 0 then
    score = now + d.ttl
    redis.call('PEXPIRE', d.root, d.ttl)
    for _, c in ipairs(d.colls) do redis.call('PEXPIRE', c.key, d.ttl) end
  end
  -- a shard's first document records which indexes it is kept with; a shard holding
  -- documents written before an index existed has no (or an older) manifest: reindex
  if #specs > 0 and not manifests[d.manifest] then
    manifests[d.manifest] = true
    if redis.call('EXISTS', d.manifest) == 0 and redis.call('ZCARD', d.ids) == 0 then
      redis.call('HSET', d.manifest, 'indexes', d.fingerprint)
    end
  end
  redis.call('ZADD', d.ids, score, d.id)
end

-- Deletes document `d` (id, root, ids, colls' keys, specs): its index entries, keys and
-- id index entry. Returns 1 when it existed.
local function delete_doc(d)
  local old = stored_values(d)
  for i, spec in ipairs(d.specs) do index_update(spec, d.id, old[i], nil) end
  local existed = redis.call('DEL', d.root)
  if #d.colls > 0 then
    local dels = {}
    for k, c in ipairs(d.colls) do dels[k] = c.key end
    redis.call('DEL', unpack(dels))
  end
  redis.call('ZREM', d.ids, d.id)
  return existed
end

-- One document's write arguments, starting after ARGV[A]:
--
-- KEYS[1]      root hash          KEYS[2]    id index of the document's shard
-- KEYS[3..]    every collection key (ARGV[A+3] of them), in schema order; then the
--              shard's index keys of the indexed fields; then, with indexes, the
--              shard's index manifest
-- ARGV[A+1]    the id             ARGV[A+2]  TTL in ms, "0" for none
-- ARGV[A+3]    number of collection keys c
-- ARGV[A+4]    n, then 2n root hash field/value arguments
-- then, per collection: kind, item count, the items (hash items alternate field, value)
-- then         the index specs (read_specs); with indexes, the model's index
--              fingerprint
local function parse_write(A)
  local d = {id = ARGV[A + 1], ttl = tonumber(ARGV[A + 2]), root = KEYS[1], ids = KEYS[2]}
  local ncoll = tonumber(ARGV[A + 3])
  d.n = tonumber(ARGV[A + 4])
  d.root_at = A + 5
  local pos = d.root_at + 2 * d.n
  d.colls = {}
  for k = 1, ncoll do
    local count = tonumber(ARGV[pos + 1])
    d.colls[k] = {key = KEYS[2 + k], kind = ARGV[pos], first = pos + 2, count = count}
    pos = pos + 2 + count
  end
  local after
  d.specs, after = read_specs(pos)
  if #d.specs > 0 then
    d.manifest = KEYS[3 + ncoll + #d.specs]
    d.fingerprint = ARGV[after]
  end
  return d
end

-- One document's delete arguments: KEYS as for parse_write (without the manifest),
-- ARGV[1] the id, ARGV[2] the number of collection keys, then the index specs.
local function parse_delete()
  local d = {id = ARGV[1], root = KEYS[1], ids = KEYS[2], colls = {}}
  for k = 1, tonumber(ARGV[2]) do d.colls[k] = {key = KEYS[2 + k]} end
  d.specs = read_specs(3)
  return d
end
