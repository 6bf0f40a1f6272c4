-- Writes one whole document atomically, with its index entries: save (upsert) or insert
-- (create only).
--
-- KEYS[1]    root hash          KEYS[2]  id index of the document's shard
-- KEYS[3..]  every collection key, in schema order; then the shard's index keys (layout
--            order); then, with indexes, the shard's index manifest
-- ARGV[1]    "save" | "insert" | "locked" | "unlock" (a locked save holds a lock: the
--            last KEYS is the lock key and the last ARGV the holder's token; when the
--            lock is no longer held, nothing is written and the reply is -1; "unlock"
--            also releases the lock after writing: save + release in one round trip)
-- ARGV[2]    the id             ARGV[3]  TTL in ms, "0" for none
-- ARGV[4..]  the model's layout (doc.lua), then the document's content, then the number
--            r of references that must exist (#[rapyer(must_exist)]) and per reference
--            its field, model and id; their root hashes and fences (a fenced document is
--            being deleted) follow the shard's keys in KEYS, two per reference
--
-- Returns 1 when written, 0 when ARGV[1] is "insert" and the document exists (nothing
-- is written then), {"dangling", field, model, id} when a reference that must exist
-- does not (nothing written); a key of another Redis type is refused first (types.lua).

local mode = ARGV[1]
local locked = mode == 'locked' or mode == 'unlock'
local L, at = layout(4)
-- every key this call may write, checked before the first write (types.lua)
local bad = doc_types(L, 1, 3, 3 + L.c) or wrong_type(2, 'zset')
if not bad and L.x > 0 then bad = wrong_type(3 + L.c + L.x, 'hash') end
if not bad and locked then bad = wrong_type(#KEYS, 'string') end
if bad then return bad end
if locked and redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then return -1 end
local fresh = mode == 'insert'
if fresh and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
do
  local r_at = skip_doc(L, at)
  local first = 3 + L.c + L.x
  if L.x > 0 then first = first + 1 end
  for i = 0, tonumber(ARGV[r_at]) - 1 do
    if redis.call('EXISTS', KEYS[first + 2 * i]) == 0 or redis.call('EXISTS', KEYS[first + 2 * i + 1]) == 1 then
      local p = r_at + 1 + 3 * i
      return {'dangling', ARGV[p], ARGV[p + 1], ARGV[p + 2]}
    end
  end
end
local ttl = tonumber(ARGV[3])
local now = 0
if ttl > 0 then now = now_ms() end
local _, added = write_doc(L, 1, 3, 3 + L.c, KEYS[2], ARGV[2], ttl, now, fresh, at)
-- a shard's first document records which indexes the shard is kept with; a shard
-- holding documents written before an index existed has no (or an older) manifest and
-- keeps it: its queries ask for a reindex
if added == 1 and L.x > 0 and redis.call('ZCARD', KEYS[2]) == 1 then
  redis.call('HSETNX', KEYS[3 + L.c + L.x], 'indexes', fingerprint(at))
end
if mode == 'unlock' then redis.call('DEL', KEYS[#KEYS]) end
return 1
