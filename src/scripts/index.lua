-- Index entries, prepended to every script that writes them (scripts/mod.rs).
--
-- Index kinds: "n" numeric root field (member: the id, score: the value); "s" string
-- root field, "l" list of strings, "e" set of strings (score 0, member: the value with
-- each NUL escaped as \0\1, then \0\0, the id, \0 and the id's length; one per
-- distinct element for collections). The terminator \0\0 sorts below every escaped
-- byte, so members sort exactly by value bytewise ("a" before "a\0" before "ab"), and
-- both parts can be read back whatever bytes they hold.

-- Index entry of `id` for stored string value `value`.
local function lex_member(value, id)
  return string.gsub(value, '%z', '\0\1') .. '\0\0' .. id .. '\0' .. #id
end

-- The distinct values of items[first..last] (nil when there are none); reads in place,
-- as unpack() could not take a long collection.
local function distinct(items, first, last)
  if last < first then return nil end
  local seen, out = {}, {}
  for j = first, last do
    local v = items[j]
    if not seen[v] then seen[v] = true; out[#out + 1] = v end
  end
  return out
end

-- Moves document `id`'s entry in index `key` (`numeric`: an "n" index) from stored value
-- `old` to `new` (either nil when absent; tables of distinct values for collections),
-- touching nothing that stays the same.
local function index_update(key, numeric, id, old, new)
  if type(old) == 'table' or type(new) == 'table' then
    local keep = {}
    if type(new) == 'table' then for _, v in ipairs(new) do keep[v] = true end end
    local had = {}
    if type(old) == 'table' then
      for _, v in ipairs(old) do
        had[v] = true
        if not keep[v] then redis.call('ZREM', key, lex_member(v, id)) end
      end
    end
    if type(new) == 'table' then
      for _, v in ipairs(new) do
        if not had[v] then redis.call('ZADD', key, 0, lex_member(v, id)) end
      end
    end
  elseif old ~= new then
    if numeric then
      -- ZADD replaces the score: a removal is only needed when the value goes away. The
      -- stored text is the score (the writers only store numbers there): no round trip
      -- through a Lua number and its 17-digit formatting
      if new then redis.call('ZADD', key, new, id) else redis.call('ZREM', key, id) end
    else
      if old then redis.call('ZREM', key, lex_member(old, id)) end
      if new then redis.call('ZADD', key, 0, lex_member(new, id)) end
    end
  end
end
