-- Writes or deletes many documents of one model atomically (one bulk chunk). What every
-- document shares is sent once: the model's layout once, each shard's keys once.
--
-- ARGV[1]  "save" | "insert" | "delete"
-- ARGV[2]  number of documents d          ARGV[3]  number of shards s in this chunk
-- ARGV[4]  TTL in ms ("0": none)
-- then     the model's layout (doc.lua)
-- then, per document: its shard's number (1..s), its id; for writes, its content
--          (doc.lua)
--
-- KEYS: per shard (in shard-number order) its id index, its x index keys and, with
--       indexes, its manifest; then per document its root hash and its c collection keys.
--
-- Reply: save: d. insert: d when every document was new and written; otherwise nothing
-- is written and the reply is the list of the ids that exist. delete: how many of the
-- documents existed.

local mode = ARGV[1]
local d, s, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local L, first = layout(5)
local c, x = L.c, L.x
local width = 1 + x -- KEYS per shard
if x > 0 then width = width + 1 end
local docs_at = s * width -- KEYS before the documents'

-- every key this chunk may write, checked before the first write (types.lua); a delete
-- reads the indexed fields and collections only
for i = 1, s do
  local base = (i - 1) * width
  local bad = wrong_type(base + 1, 'zset')
  for k = 2, 1 + x do bad = bad or wrong_type(base + k, 'zset') end
  if x > 0 then bad = bad or wrong_type(base + width, 'hash') end
  if bad then return bad end
end
for rk = docs_at + 1, docs_at + d * (1 + c), 1 + c do
  local bad
  if mode ~= 'delete' then
    bad = doc_types(L, rk, rk + 1, nil)
  else
    bad = erase_types(L, rk, rk + 1)
  end
  if bad then return bad end
end

if mode == 'delete' then
  local existed, pos, rk = 0, first, docs_at + 1
  for _ = 1, d do
    local base = (tonumber(ARGV[pos]) - 1) * width
    existed = existed + delete_doc(L, rk, rk + 1, base + 2, KEYS[base + 1], ARGV[pos + 1])
    pos = pos + 2
    rk = rk + 1 + c
  end
  return existed
end

local fresh = mode == 'insert'
if fresh then
  local taken, pos = {}, first
  for i = 1, d do
    if redis.call('EXISTS', KEYS[docs_at + 1 + (i - 1) * (1 + c)]) == 1 then
      taken[#taken + 1] = ARGV[pos + 1]
    end
    pos = skip_doc(L, pos + 2)
  end
  if #taken > 0 then return taken end
end

-- a shard's first document records which indexes the shard is kept with (save.lua);
-- every shard of the chunk gets a document
if x > 0 then
  for i = 1, s do
    local base = (i - 1) * width
    if redis.call('ZCARD', KEYS[base + 1]) == 0 then
      redis.call('HSETNX', KEYS[base + width], 'indexes', fingerprint(first + 2))
    end
  end
end

local now = 0
if ttl > 0 then now = now_ms() end
local pos, rk = first, docs_at + 1
for _ = 1, d do
  local base = (tonumber(ARGV[pos]) - 1) * width
  pos = write_doc(L, rk, rk + 1, base + 2, KEYS[base + 1], ARGV[pos + 1], ttl, now, fresh, pos + 2)
  rk = rk + 1 + c
end
return d
