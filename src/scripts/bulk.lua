-- Writes or deletes many documents of one model atomically (one bulk chunk).
--
-- ARGV[1]    "save" | "insert" | "delete"
-- ARGV[2]    number of documents d
-- then, per document: its number of KEYS, its number of ARGV, then its segment's ARGV
-- (doc.lua: a write segment for save/insert, a delete segment for delete); the
-- documents' KEYS segments follow one another in the same order.
--
-- Reply: save: d. insert: d when every document was new and written; otherwise nothing
-- is written and the reply is the list of the ids that exist. delete: how many of the
-- documents existed.

local mode = ARGV[1]
local d = tonumber(ARGV[2])
local segs = {}
local K, A = 0, 2
for i = 1, d do
  local nk, na = tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2])
  segs[i] = {K = K, A = A + 2}
  K = K + nk
  A = A + 2 + na
end

if mode == 'delete' then
  local existed = 0
  for i = 1, d do existed = existed + delete_doc(segs[i].K, segs[i].A) end
  return existed
end

if mode == 'insert' then
  local taken = {}
  for i = 1, d do
    if redis.call('EXISTS', KEYS[segs[i].K + 1]) == 1 then taken[#taken + 1] = ARGV[segs[i].A + 1] end
  end
  if #taken > 0 then return taken end
end

local now = now_ms()
for i = 1, d do write_doc(segs[i].K, segs[i].A, now, mode == 'insert') end
return d
