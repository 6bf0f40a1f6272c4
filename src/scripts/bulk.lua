-- Writes or deletes many documents of one model atomically (one bulk chunk). What every
-- document shares is sent once: the model's layout once, each shard's keys once.
--
-- ARGV[1]  "save" | "insert" | "delete"
-- ARGV[2]  number of documents d          ARGV[3]  number of shards s in this chunk
-- ARGV[4]  TTL in ms ("0": none)          ARGV[5]  number of collections c
-- then     c collection kind letters ("l", "h", "s"), in schema order
-- then     the index count x, then per index: field path, kind letter, value source
--          (read_specs' shape without the key position), then the fingerprint
-- then, per document: its shard's number (1..s), its id; for writes, n and 2n root hash
--          field/value arguments, then per collection its item count and items
--
-- KEYS: per shard (in shard-number order) its id index, its x index keys and, with
--       indexes, its manifest; then per document its root hash and its c collection keys.
--
-- Reply: save: d. insert: d when every document was new and written; otherwise nothing
-- is written and the reply is the list of the ids that exist. delete: how many of the
-- documents existed.

local mode = ARGV[1]
local d, s, ttl, c = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local kinds = {}
for k = 1, c do kinds[k] = ARGV[5 + k] end
local pos = 6 + c
local x = tonumber(ARGV[pos])
local layout = {}
for i = 1, x do
  local b = pos + 1 + (i - 1) * 3
  layout[i] = {path = ARGV[b], kind = ARGV[b + 1], src = tonumber(ARGV[b + 2])}
end
pos = pos + 1 + 3 * x
local fingerprint = ARGV[pos]
pos = pos + 1

-- each shard's keys and specs
local width = 1 + x
if x > 0 then width = width + 1 end
local shards = {}
for i = 1, s do
  local base = (i - 1) * width
  local specs = {}
  for j, l in ipairs(layout) do
    specs[j] = {path = l.path, kind = l.kind, src = l.src, key = KEYS[base + 1 + j]}
  end
  shards[i] = {ids = KEYS[base + 1], specs = specs}
  if x > 0 then shards[i].manifest = KEYS[base + width] end
end

-- the documents
local docs = {}
local K = s * width
for i = 1, d do
  local shard = shards[tonumber(ARGV[pos])]
  local doc = {id = ARGV[pos + 1], root = KEYS[K + 1], ids = shard.ids, specs = shard.specs,
               manifest = shard.manifest, fingerprint = fingerprint, ttl = ttl, colls = {}}
  pos = pos + 2
  if mode ~= 'delete' then
    doc.n = tonumber(ARGV[pos])
    doc.root_at = pos + 1
    pos = doc.root_at + 2 * doc.n
  end
  for k = 1, c do
    local coll = {key = KEYS[K + 1 + k], kind = kinds[k]}
    if mode ~= 'delete' then
      coll.count = tonumber(ARGV[pos])
      coll.first = pos + 1
      pos = pos + 1 + coll.count
    end
    doc.colls[k] = coll
  end
  K = K + 1 + c
  docs[i] = doc
end

if mode == 'delete' then
  local existed = 0
  for i = 1, d do existed = existed + delete_doc(docs[i]) end
  return existed
end

if mode == 'insert' then
  local taken = {}
  for i = 1, d do
    if redis.call('EXISTS', docs[i].root) == 1 then taken[#taken + 1] = docs[i].id end
  end
  if #taken > 0 then return taken end
end

local now = 0
if ttl > 0 then now = now_ms() end
local manifests = {}
for i = 1, d do write_doc(docs[i], now, mode == 'insert', manifests) end
return d
