-- Writes one whole document atomically: save (upsert) or insert (create only).
--
-- KEYS[1]    root hash of the document
-- KEYS[2]    id index of the document's shard (zset, score 0)
-- KEYS[3..]  every collection key of the document, in schema order
-- ARGV[1]    "save" | "insert"
-- ARGV[2]    the id
-- ARGV[3]    n, then 2n root hash field/value arguments
-- then, for each collection key in KEYS order: kind ("l" list, "h" hash, "s" set),
--            item count c, then c items (hash items alternate field and value)
--
-- Returns 1 when written, 0 when ARGV[1] is "insert" and the document exists (nothing
-- is written then).

if ARGV[1] == 'insert' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

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

-- save replaces the document wholly, collections included
redis.call('DEL', KEYS[1])
for k = 3, #KEYS do
  redis.call('DEL', KEYS[k])
end

local pos = 3
local n = tonumber(ARGV[pos])
pos = pos + 1
batched('HSET', KEYS[1], pos, 2 * n)
pos = pos + 2 * n

local commands = { l = 'RPUSH', h = 'HSET', s = 'SADD' }
for k = 3, #KEYS do
  local cmd = commands[ARGV[pos]]
  local count = tonumber(ARGV[pos + 1])
  pos = pos + 2
  if count > 0 then
    batched(cmd, KEYS[k], pos, count)
  end
  pos = pos + count
end

redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
