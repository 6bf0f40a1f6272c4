-- Writes one whole document atomically, with its index entries: save (upsert) or insert
-- (create only).
--
-- ARGV[1]    "save" | "insert" | "locked" | "unlock" (a locked save holds a lock: the
--            last KEYS is the lock key and the last ARGV the holder's token; when the
--            lock is no longer held, nothing is written and the reply is -1; "unlock"
--            also releases the lock after writing: save + release in one round trip)
-- then       the document's write arguments (doc.lua's parse_write) with A = 1
--
-- Returns 1 when written, 0 when ARGV[1] is "insert" and the document exists (nothing
-- is written then).

local mode = ARGV[1]
local locked = mode == 'locked' or mode == 'unlock'
if locked and redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then return -1 end
local fresh = mode == 'insert'
if fresh and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = 0
if tonumber(ARGV[3]) > 0 then now = now_ms() end
write_doc(parse_write(1), now, fresh, {})
if mode == 'unlock' then redis.call('DEL', KEYS[#KEYS]) end
return 1
