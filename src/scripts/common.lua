-- Helpers shared by every rapyer script: prepended to each one (scripts/mod.rs).

-- The server's clock in milliseconds (expiry times in the id index use it).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Pushes a document's TTL back to `ms`: PEXPIRE on KEYS[first..last] (its keys) except
-- KEYS[ids_at] (its shard's id index), whose entry for `id` gets the new expiry time.
local function refresh_ttl(first, last, ids_at, id, ms)
  for k = first, last do
    if k ~= ids_at then redis.call('PEXPIRE', KEYS[k], ms) end
  end
  redis.call('ZADD', KEYS[ids_at], 'XX', now_ms() + ms, id)
end

-- Appends a document's content to `out`: HGETALL of KEYS[root], then each collection
-- KEYS[first..last] read by its kind letter ARGV[kinds], ARGV[kinds + 1], ... ("l" list,
-- "h" hash, "s" set).
local function read_doc(out, root, first, last, kinds)
  out[#out + 1] = redis.call('HGETALL', KEYS[root])
  for k = first, last do
    local kind = ARGV[kinds + k - first]
    if kind == 'l' then
      out[#out + 1] = redis.call('LRANGE', KEYS[k], 0, -1)
    elseif kind == 'h' then
      out[#out + 1] = redis.call('HGETALL', KEYS[k])
    else
      out[#out + 1] = redis.call('SMEMBERS', KEYS[k])
    end
  end
  return out
end

-- Index specs of one document, from ARGV[at]: count n, then per index: field path,
-- kind ("n" numeric root field: member id, score the value; "s" string root field,
-- "l" list of strings, "e" set of strings: score 0, member value \0 id \0 <length of
-- id>, so values sort first and both parts can be read back whatever bytes they hold),
-- the index key's position in KEYS, and where the values live relative to the
-- document's root key (0: the root hash itself; k: the k-th key after it). Returns the
-- specs and the ARGV position after them.
local function read_specs(at)
  local specs = {}
  local n = tonumber(ARGV[at])
  for i = 1, n do
    local b = at + 1 + (i - 1) * 4
    specs[i] = {path = ARGV[b], kind = ARGV[b + 1], key = KEYS[tonumber(ARGV[b + 2])], src = tonumber(ARGV[b + 3])}
  end
  return specs, at + 1 + n * 4
end

-- Index entry of `id` for stored `value` (nil: the field is absent, no entry).
local function lex_member(value, id)
  return value .. '\0' .. id .. '\0' .. #id
end

-- Splits a string index member into value and id.
local function lex_split(member)
  local len_at = string.find(member, '%z[0-9]+$')
  local idlen = tonumber(string.sub(member, len_at + 1))
  local id = string.sub(member, len_at - idlen, len_at - 1)
  return string.sub(member, 1, len_at - idlen - 2), id
end

local function index_remove(spec, id, value)
  if type(value) == 'table' then
    for _, v in ipairs(value) do redis.call('ZREM', spec.key, lex_member(v, id)) end
  elseif value then
    if spec.kind == 'n' then
      redis.call('ZREM', spec.key, id)
    else
      redis.call('ZREM', spec.key, lex_member(value, id))
    end
  end
end

local function index_add(spec, id, value)
  if type(value) == 'table' then
    for _, v in ipairs(value) do redis.call('ZADD', spec.key, 0, lex_member(v, id)) end
  elseif value then
    if spec.kind == 'n' then
      redis.call('ZADD', spec.key, tonumber(value), id)
    else
      redis.call('ZADD', spec.key, 0, lex_member(value, id))
    end
  end
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

-- The stored indexed value of `spec` for the document whose root hash is key `root`;
-- `coll_key(src)` names its collection key for a spec's value source: the root field's
-- text, or for a collection the table of its distinct elements (nil: no value).
local function spec_value(spec, root, coll_key)
  if spec.kind == 'n' or spec.kind == 's' then
    return redis.call('HGET', root, spec.path)
  end
  local key = coll_key(spec.src)
  local items
  if spec.kind == 'l' then items = redis.call('LRANGE', key, 0, -1) else items = redis.call('SMEMBERS', key) end
  return distinct(items, 1, #items)
end

-- A coll_key for documents laid out as KEYS[root], then its collections at KEYS[root + src].
local function keys_after(root)
  return function(src) return KEYS[root + src] end
end

-- The stored indexed values of a document (as spec_value; root fields in one HMGET).
local function indexed_values(root, coll_key, specs)
  local values, paths, at = {}, {}, {}
  for i, spec in ipairs(specs) do
    if spec.kind == 'n' or spec.kind == 's' then
      paths[#paths + 1] = spec.path
      at[#paths] = i
    else
      values[i] = spec_value(spec, root, coll_key)
    end
  end
  if #paths > 0 then
    local got = redis.call('HMGET', root, unpack(paths))
    for j = 1, #paths do
      if got[j] then values[at[j]] = got[j] end
    end
  end
  return values
end

-- Moves document `id`'s entry in one index from stored value `old` to `new` (either nil
-- when absent; tables for collections), touching nothing that stays the same.
local function index_update(spec, id, old, new)
  if type(old) == 'table' or type(new) == 'table' then
    local keep = {}
    if type(new) == 'table' then for _, v in ipairs(new) do keep[v] = true end end
    local had = {}
    if type(old) == 'table' then
      for _, v in ipairs(old) do
        had[v] = true
        if not keep[v] then redis.call('ZREM', spec.key, lex_member(v, id)) end
      end
    end
    if type(new) == 'table' then
      for _, v in ipairs(new) do
        if not had[v] then redis.call('ZADD', spec.key, 0, lex_member(v, id)) end
      end
    end
  elseif old ~= new then
    if spec.kind == 'n' then
      -- ZADD replaces the score: a removal is only needed when the value goes away
      if new then redis.call('ZADD', spec.key, tonumber(new), id) else redis.call('ZREM', spec.key, id) end
    else
      if old then redis.call('ZREM', spec.key, lex_member(old, id)) end
      if new then redis.call('ZADD', spec.key, 0, lex_member(new, id)) end
    end
  end
end
