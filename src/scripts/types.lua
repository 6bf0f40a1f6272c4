-- Key type checks, prepended to every script that writes (scripts/mod.rs). Redis does
-- not roll back a script that fails halfway, and a key another program wrote may hold
-- any type: a writing script checks every key it will touch before its first write and
-- refuses with nothing changed. The error reply, "RAPYER_WRONGTYPE <found> <expected>
-- <key>", becomes Error::WrongType (key last: it may hold spaces).

-- nil when `key` is absent or a `want` ("hash", "list", "set", "zset", "string");
-- otherwise the error reply to return.
-- `found` (optional): the types already asked, by key (filled: each key asked once).
local function key_type_error(key, want, found)
  local t = found and found[key]
  if not t then
    t = redis.call('TYPE', key)['ok']
    if found then found[key] = t end
  end
  if t ~= 'none' and t ~= want then
    return redis.error_reply('RAPYER_WRONGTYPE ' .. t .. ' ' .. want .. ' ' .. key)
  end
end

-- key_type_error of KEYS[i].
local function wrong_type(i, want, found)
  return key_type_error(KEYS[i], want, found)
end

-- The Redis type of an own key's kind letter ("l" list, "h" hash, "s" set, "t"
-- string, "z" sorted set; upper-case the same).
local KIND_TYPES = {l = 'list', h = 'hash', s = 'set', t = 'string', z = 'zset'}
local function kind_type(letter)
  return KIND_TYPES[string.lower(letter)]
end

-- Checks a document laid out as doc.lua says (root hash at KEYS[rk], collections from
-- KEYS[ck], its shard's index keys from KEYS[ik], nil: checked by the caller); nil when
-- every key is fine.
local function doc_types(L, rk, ck, ik)
  local e = wrong_type(rk, 'hash')
  if e then return e end
  for k = 1, L.c do
    e = wrong_type(ck + k - 1, kind_type(string.sub(L.ckinds, k, k)))
    if e then return e end
  end
  if not ik then return nil end
  for i = 1, L.x do
    e = wrong_type(ik + i - 1, 'zset')
    if e then return e end
  end
end
