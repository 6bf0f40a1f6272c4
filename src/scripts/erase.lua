-- Whole-document deletes, shared by delete.lua and bulk.lua: prepended after doc.lua
-- (same KEYS/ARGV conventions).

-- nil when a delete of the document at KEYS[rk] (collections from KEYS[ck]) can read what
-- it must: the root hash when root fields are indexed, each indexed collection; the
-- error reply otherwise (a delete of other keys works whatever they hold).
local function erase_types(L, rk, ck)
  if L.r > 0 then
    local e = wrong_type(rk, 'hash')
    if e then return e end
  end
  for i = L.r + 1, L.x do
    local k = ck + tonumber(ARGV[L.srcs + i - L.r - 1]) - 1
    local want = 'set'
    if string.byte(L.xkinds, i) == 108 then want = 'list' end
    local e = wrong_type(k, want)
    if e then return e end
  end
end

-- Deletes one document (KEYS as doc.lua lays a document out): its index entries, keys and id index entry.
-- Returns 1 when it existed.
local function delete_doc(L, rk, ck, ik, ids, id)
  local root, c, x, r = KEYS[rk], L.c, L.x, L.r
  if r > 0 then
    local old = redis.call('HMGET', root, unpack(ARGV, L.paths, L.paths + r - 1))
    for i = 1, r do
      index_update(KEYS[ik + i - 1], string.byte(L.xkinds, i) == 110, id, old[i] or nil, nil)
    end
  end
  for i = r + 1, x do
    index_update(KEYS[ik + i - 1], false, id, stored_elements(L, ck, i), nil)
  end
  local existed = redis.call('DEL', root)
  if c > 0 then redis.call('DEL', unpack(KEYS, ck, ck + c - 1)) end
  redis.call('ZREM', ids, id)
  return existed
end
