-- Writes one whole document atomically, with its index entries: save (upsert) or insert
-- (create only).
--
-- KEYS[1]    root hash of the document
-- KEYS[2]    id index of the document's shard
-- KEYS[3..]  every collection key of the document (ARGV[4] of them), in schema order;
--            then the shard's index keys of the model's indexed fields; then, for a
--            locked save, the lock key (last)
-- ARGV[1]    "save" | "insert" | "locked" | "unlock" (a locked save holds a lock: the
--            last ARGV is the holder's token; when the lock is no longer held, nothing is
--            written and the reply is -1; "unlock" also releases the lock after writing:
--            save + release in one round trip)
-- ARGV[2]    the id
-- ARGV[3]    time to live in ms, "0" for none (every key of the document gets it)
-- ARGV[4]    number of collection keys c
-- ARGV[5]    n, then 2n root hash field/value arguments
-- then, for each collection key in KEYS order: kind ("l" list, "h" hash, "s" set),
--            item count, then the items (hash items alternate field and value)
-- then       the index specs (see read_specs); with indexes, the model's index manifest
--            (its KEYS follow the index keys) and its fingerprint
--
-- The id index score is the document's expiry time in ms (server clock), +inf without a
-- TTL, so listing can skip and lazily drop ids whose document expired. Index entries are
-- computed from what is stored: the old values' entries go, the new values' come.
--
-- Returns 1 when written, 0 when ARGV[1] is "insert" and the document exists (nothing
-- is written then).

local mode, id = ARGV[1], ARGV[2]
local locked = mode == 'locked' or mode == 'unlock'
if locked and redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then return -1 end
if mode == 'insert' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end

local ncoll = tonumber(ARGV[4])
local last_coll = 2 + ncoll

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

-- parse the arguments before writing anything
local pos = 5
local n = tonumber(ARGV[pos])
local root_at = pos + 1
pos = root_at + 2 * n
local colls = {}
for k = 3, last_coll do
  local count = tonumber(ARGV[pos + 1])
  colls[k] = {kind = ARGV[pos], first = pos + 2, count = count}
  pos = pos + 2 + count
end
local specs, after_specs = read_specs(pos)

-- the old values' index entries go
local old = indexed_values(1, specs)
for i, spec in ipairs(specs) do index_remove(spec, id, old[i]) end

-- save replaces the document wholly, collections included
redis.call('DEL', KEYS[1])
for k = 3, last_coll do redis.call('DEL', KEYS[k]) end
batched('HSET', KEYS[1], root_at, 2 * n)
local commands = { l = 'RPUSH', h = 'HSET', s = 'SADD' }
for k = 3, last_coll do
  local c = colls[k]
  if c.count > 0 then batched(commands[c.kind], KEYS[k], c.first, c.count) end
end

-- the new values' index entries come
local new = indexed_values(1, specs)
for i, spec in ipairs(specs) do index_add(spec, id, new[i]) end

local ttl = tonumber(ARGV[3])
local score = '+inf'
if ttl > 0 then
  score = now_ms() + ttl
  redis.call('PEXPIRE', KEYS[1], ttl)
  for k = 3, last_coll do redis.call('PEXPIRE', KEYS[k], ttl) end
end
-- a shard's first document records which indexes it is kept with; a shard holding
-- documents written before an index existed has no (or an older) manifest: reindex
if #specs > 0 then
  local manifest = KEYS[3 + ncoll + #specs]
  if redis.call('EXISTS', manifest) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
    redis.call('HSET', manifest, 'indexes', ARGV[after_specs])
  end
end
redis.call('ZADD', KEYS[2], score, id)
if mode == 'unlock' then redis.call('DEL', KEYS[#KEYS]) end
return 1
