-- Whole-document writes, shared by save.lua (one document) and bulk.lua (many), and the
-- layout they share with delete.lua: prepended after clock.lua and index.lua
-- (erase.lua, with delete_doc, follows for delete.lua and bulk.lua). Written flat (positions in
-- KEYS/ARGV, few tables): a save runs this on every call.
--
-- The model's layout comes first (what every document of a call shares), read by
-- layout(at):
--   ckinds     the own keys' kind letters as one argument, in schema order ("l" list,
--              "h" hash, "s" set, "t" string, "z" sorted set; upper-case: a key that a
--              save of an existing document leaves alone; "" without any): c = #ckinds
--   xkinds     the index kind letters as one argument (index.lua): x = #xkinds
--   r          how many indexes are on root fields (they come first)
--   x paths    the indexed fields' paths
--   x - r      per collection index, the number (1..c) of its collection
--
-- A document has its root hash at KEYS[rk], its c collection keys from KEYS[ck] and its
-- shard's x index keys from KEYS[ik] (layout order); written, its content is ARGV[at]:
-- n, then 2n root hash field/value arguments (the indexed root fields first, in layout
-- order; absent ones skipped), then per collection its item count and items (hash items
-- alternate field, value; sorted set items member, score; a string has one item).
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

-- ZADDs the member, score pairs ARGV[first .. first + count - 1] to `key`, in batches.
local function scored(key, first, count)
  local args = {}
  for i = first, first + count - 2, 2 do
    args[#args + 1] = ARGV[i + 1]
    args[#args + 1] = ARGV[i]
    if #args >= 1000 then
      redis.call('ZADD', key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', key, unpack(args)) end
end

-- The layout starting at ARGV[at], and the position after it.
local function layout(at)
  local ckinds, xkinds, r = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  local x = #xkinds
  -- one constructor with every field: no table growth on each call
  local L = {ckinds = ckinds, xkinds = xkinds, r = r, paths = at + 3, c = #ckinds, x = x,
             srcs = at + 3 + x, keep = string.find(ckinds, '%u') ~= nil}
  return L, L.srcs + x - r
end

-- The ARGV position after the written document at ARGV[at] (without reading it).
local function skip_doc(L, at)
  local p = at + 1 + 2 * tonumber(ARGV[at])
  for _ = 1, L.c do p = p + 1 + tonumber(ARGV[p]) end
  return p
end

-- The index fingerprint a written document carries (its "$i" root field), from its
-- content at ARGV[at]; only the rare first write of a shard needs it.
local function fingerprint(at)
  local first = at + 1
  for p = first, first + 2 * tonumber(ARGV[at]) - 2, 2 do
    if ARGV[p] == '$i' then return ARGV[p + 1] end
  end
end

-- The distinct stored elements of collection index i (r < i <= x) of the document
-- whose collections start at KEYS[ck].
local function stored_elements(L, ck, i)
  local key = KEYS[ck + tonumber(ARGV[L.srcs + i - L.r - 1]) - 1]
  local items
  if string.byte(L.xkinds, i) == 108 then -- "l"
    items = redis.call('LRANGE', key, 0, -1)
  else
    items = redis.call('SMEMBERS', key)
  end
  return distinct(items, 1, #items)
end

-- Replaces one document wholly, collections included, with its index entries, TTL and
-- id index entry (KEYS as above; `ids`: its shard's id index key). `now`: the server
-- clock in ms (read once per script, when there is a TTL); `fresh`: the caller checked
-- that the document does not exist (no old entries to read). Returns the ARGV position
-- after the document and whether its id is new in the id index (1) or not (0).
local function write_doc(L, rk, ck, ik, ids, id, ttl, now, fresh, at)
  local root, c, x, r = KEYS[rk], L.c, L.x, L.r
  local rp = at + 1
  local cp = rp + 2 * tonumber(ARGV[at])
  -- the stored indexed values, read before anything is replaced
  local old, old_elements
  -- keys kept by a save of an existing document (upper-case kind letters: a structure
  -- written only by its atomic operations, such as a counter)
  local kept = false
  if L.keep and not fresh then kept = redis.call('EXISTS', root) == 1 end
  if not fresh then
    if r > 0 then old = redis.call('HMGET', root, unpack(ARGV, L.paths, L.paths + r - 1)) end
    if x > r then
      old_elements = {}
      for i = r + 1, x do old_elements[i] = stored_elements(L, ck, i) end
    end
  end
  if kept then
    local gone = {root}
    for k = 1, c do
      if string.byte(L.ckinds, k) >= 97 then gone[#gone + 1] = KEYS[ck + k - 1] end
    end
    redis.call('DEL', unpack(gone))
  elseif not fresh then
    redis.call('DEL', root, unpack(KEYS, ck, ck + c - 1))
  elseif c > 0 then
    redis.call('DEL', unpack(KEYS, ck, ck + c - 1))
  end

  batched('HSET', root, rp, cp - rp)
  local p, firsts = cp, nil
  if x > r then firsts = {} end
  for k = 1, c do
    local count = tonumber(ARGV[p])
    local kind = string.byte(L.ckinds, k)
    if kind < 97 then
      kind = kind + 32 -- a kept key's letter, upper-case
      if kept then count = -1 end
    end
    if count > 0 then
      local cmd = 'SADD'
      if kind == 122 then -- "z": member, score pairs
        scored(KEYS[ck + k - 1], p + 1, count)
      elseif kind == 116 then -- "t": the string's one value
        redis.call('SET', KEYS[ck + k - 1], ARGV[p + 1])
      else
        if kind == 108 then cmd = 'RPUSH' elseif kind == 104 then cmd = 'HSET' end -- "l", "h"
        batched(cmd, KEYS[ck + k - 1], p + 1, count)
      end
    end
    if firsts then firsts[k] = p end
    p = p + 1 + tonumber(ARGV[p])
  end

  -- the new indexed root values are the first root fields, in layout order
  local q = rp
  for i = 1, r do
    local new
    if q < cp and ARGV[q] == ARGV[L.paths + i - 1] then
      new = ARGV[q + 1]
      q = q + 2
    end
    index_update(KEYS[ik + i - 1], string.byte(L.xkinds, i) == 110, id, old and old[i] or nil, new)
  end
  for i = r + 1, x do
    local f = firsts[tonumber(ARGV[L.srcs + i - r - 1])]
    local new = distinct(ARGV, f + 1, f + tonumber(ARGV[f]))
    index_update(KEYS[ik + i - 1], false, id, old_elements and old_elements[i], new)
  end

  local score = '+inf'
  if ttl > 0 then
    score = now + ttl
    redis.call('PEXPIRE', root, ttl)
    for k = ck, ck + c - 1 do redis.call('PEXPIRE', KEYS[k], ttl) end
  end
  return p, redis.call('ZADD', ids, score, id)
end
