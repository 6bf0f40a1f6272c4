-- Writes one whole document atomically: save (upsert) or insert (create only).
--
-- KEYS[1]    root hash of the document
-- KEYS[2]    id index of the document's shard (zset, score 0)
-- KEYS[3..]  every collection key of the document, in schema order
-- ARGV[1]    "save" | "insert" | "locked" | "unlock" (a save that holds a lock: the
--            last KEYS is the lock key and the last ARGV the holder's token; when the
--            lock is no longer held, nothing is written and the reply is -1; "unlock"
--            also releases the lock after writing: save + release in one round trip)
-- ARGV[2]    the id
-- ARGV[3]    time to live in ms, "0" for none (every key of the document gets it)
-- ARGV[4]    n, then 2n root hash field/value arguments
-- then, for each collection key in KEYS order: kind ("l" list, "h" hash, "s" set),
--            item count c, then c items (hash items alternate field and value)
--
-- The id index score is the document's expiry time in ms (server clock), +inf without a
-- TTL, so listing can skip and lazily drop ids whose document expired.
--
-- Returns 1 when written, 0 when ARGV[1] is "insert" and the document exists (nothing
-- is written then).

local doc_keys = #KEYS
local lock_key = nil
if ARGV[1] == 'locked' or ARGV[1] == 'unlock' then
  if redis.call('GET', KEYS[doc_keys]) ~= ARGV[#ARGV] then return -1 end
  lock_key = KEYS[doc_keys]
  doc_keys = doc_keys - 1
end

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
for k = 3, doc_keys do
  redis.call('DEL', KEYS[k])
end

local pos = 4
local n = tonumber(ARGV[pos])
pos = pos + 1
batched('HSET', KEYS[1], pos, 2 * n)
pos = pos + 2 * n

local commands = { l = 'RPUSH', h = 'HSET', s = 'SADD' }
for k = 3, doc_keys do
  local cmd = commands[ARGV[pos]]
  local count = tonumber(ARGV[pos + 1])
  pos = pos + 2
  if count > 0 then
    batched(cmd, KEYS[k], pos, count)
  end
  pos = pos + count
end

local ttl = tonumber(ARGV[3])
local score = '+inf'
if ttl > 0 then
  score = now_ms() + ttl
  for k = 1, doc_keys do
    if k ~= 2 then redis.call('PEXPIRE', KEYS[k], ttl) end
  end
end
redis.call('ZADD', KEYS[2], score, ARGV[2])
if ARGV[1] == 'unlock' then redis.call('DEL', lock_key) end
return 1
