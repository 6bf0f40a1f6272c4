-- Whole-document writes and deletes, shared by save.lua (one document) and bulk.lua
-- (many): prepended after common.lua.
--
-- A document's segment of KEYS starts after position K and of ARGV after position A:
--
-- KEYS[K+1]    root hash          KEYS[K+2]  id index of the document's shard
-- KEYS[K+3..]  every collection key of the document (ARGV[A+3] of them), in schema
--              order; then the shard's index keys of the model's indexed fields; then,
--              with indexes, the shard's index manifest
-- ARGV[A+1]    the id
-- ARGV[A+2]    time to live in ms, "0" for none (every key of the document gets it)
-- ARGV[A+3]    number of collection keys c
-- ARGV[A+4]    n, then 2n root hash field/value arguments
-- then, for each collection key in KEYS order: kind ("l" list, "h" hash, "s" set),
--              item count, then the items (hash items alternate field and value)
-- then         the index specs (read_specs; KEYS positions relative to K); with
--              indexes, the model's index fingerprint
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

-- Replaces the document of the segment at (K, A) wholly, collections included, with its
-- index entries, TTL and id index entry. `now` is the server clock in ms (read once per
-- script); `fresh`: the caller checked that the document does not exist (no old index
-- entries to read). Parses every argument before writing anything.
local function write_doc(K, A, now, fresh)
  local id = ARGV[A + 1]
  local ncoll = tonumber(ARGV[A + 3])
  local pos = A + 4
  local n = tonumber(ARGV[pos])
  local root_at = pos + 1
  pos = root_at + 2 * n
  local colls = {}
  for k = 1, ncoll do
    local count = tonumber(ARGV[pos + 1])
    colls[k] = {kind = ARGV[pos], first = pos + 2, count = count}
    pos = pos + 2 + count
  end
  local specs, after_specs = read_specs(pos, K)
  local root = KEYS[K + 1]

  -- the new indexed values, from the arguments (as they will be stored)
  local new = {}
  if #specs > 0 then
    local fields = {}
    for i = root_at, root_at + 2 * n - 1, 2 do fields[ARGV[i]] = ARGV[i + 1] end
    for i, spec in ipairs(specs) do
      if spec.kind == 'n' or spec.kind == 's' then
        new[i] = fields[spec.path]
      else
        local c = colls[spec.src - 1]
        if c.count > 0 then
          local seen, out = {}, {}
          for j = c.first, c.first + c.count - 1 do
            local v = ARGV[j]
            if not seen[v] then seen[v] = true; out[#out + 1] = v end
          end
          new[i] = out
        end
      end
    end
  end
  local old = {}
  if not fresh and #specs > 0 then old = indexed_values(K + 1, specs) end

  local dels = {root}
  for k = 1, ncoll do dels[k + 1] = KEYS[K + 2 + k] end
  redis.call('DEL', unpack(dels))
  batched('HSET', root, root_at, 2 * n)
  for k = 1, ncoll do
    local c = colls[k]
    if c.count > 0 then batched(collection_writes[c.kind], KEYS[K + 2 + k], c.first, c.count) end
  end
  for i, spec in ipairs(specs) do index_update(spec, id, old[i], new[i]) end

  local ttl = tonumber(ARGV[A + 2])
  local score = '+inf'
  if ttl > 0 then
    score = now + ttl
    redis.call('PEXPIRE', root, ttl)
    for k = 1, ncoll do redis.call('PEXPIRE', KEYS[K + 2 + k], ttl) end
  end
  -- a shard's first document records which indexes it is kept with; a shard holding
  -- documents written before an index existed has no (or an older) manifest: reindex
  if #specs > 0 then
    local manifest = KEYS[K + 3 + ncoll + #specs]
    if redis.call('EXISTS', manifest) == 0 and redis.call('ZCARD', KEYS[K + 2]) == 0 then
      redis.call('HSET', manifest, 'indexes', ARGV[after_specs])
    end
  end
  redis.call('ZADD', KEYS[K + 2], score, id)
end

-- Deletes the document of a delete segment at (K, A): KEYS as for write_doc (without
-- the manifest), ARGV[A+1] the id, ARGV[A+2] the number of collection keys, then the
-- index specs. Returns 1 when it existed.
local function delete_doc(K, A)
  local id, ncoll = ARGV[A + 1], tonumber(ARGV[A + 2])
  local specs = read_specs(A + 3, K)
  local old = indexed_values(K + 1, specs)
  for i, spec in ipairs(specs) do index_remove(spec, id, old[i]) end
  local existed = redis.call('DEL', KEYS[K + 1])
  if ncoll > 0 then redis.call('DEL', unpack(KEYS, K + 3, K + 2 + ncoll)) end
  redis.call('ZREM', KEYS[K + 2], id)
  return existed
end
