-- Runs a plan of atomic field operations on one or more documents, all or nothing.
--
-- KEYS: for each document, in order: its root hash, the id index of its shard, every
--       collection key of the document, then its shard's index keys.
-- ARGV[1]  number of documents D; then per document: flags ("i" = if it is missing,
--          skip its ops silently; "" = report it), id, TTL refresh spec (refresh.lua;
--          "0": none; without a refresh that is due, keys the ops create inherit the
--          root's TTL), number of its own KEYS
--          (root, id index, collections), then its index specs (see read_specs)
-- then     number of ops; per op: document number, code, key index within the
--          document's KEYS (1 root, 3.. collections), hash field ("" for collection
--          ops), argument count, arguments...
--
-- Reply: {1, skipped, r1, r2, ...} when applied (skipped: the numbers of the missing
-- documents whose ops were skipped; their results are false); {0, d} when document d
-- is missing (nothing applied). An op that fails raises "RAPYER <op#> <reason>" after
-- every key touched by earlier ops was restored (DUMP/RESTORE undo log), so a failed
-- plan leaves nothing applied. Single-op plans need no undo log: each op checks before
-- it writes.

local docs = {}
local pos = 2
local base = 0
for d = 1, tonumber(ARGV[1]) do
  local doc = {flags = ARGV[pos], id = ARGV[pos + 1], refresh = ARGV[pos + 2], nkeys = tonumber(ARGV[pos + 3]), base = base}
  doc.specs, pos = read_specs(pos + 4)
  doc.indexed, doc.by_src = {}, {}
  for _, spec in ipairs(doc.specs) do
    if spec.kind == 'n' or spec.kind == 's' then doc.indexed[spec.path] = spec else doc.by_src[spec.src] = spec end
  end
  base = base + doc.nkeys + #doc.specs
  docs[d] = doc
end

-- every key the plan may write or read for an index, checked before the first write
-- (types.lua): a key of another Redis type refuses the whole plan, nothing changed
local LIST_OPS = {rpush = 1, lpush = 1, rpop = 1, lpop = 1, llen = 1, linsert = 1, lrem = 1,
  lset = 1, lindex = 1, ltrim = 1, lrange = 1}
local HASH_OPS = {hset = 1, hdel = 1, hpop = 1, hpopitem = 1, hincr = 1, hget = 1, hkeys = 1,
  hlen = 1, hgetall = 1}
local SET_OPS = {sadd = 1, srem = 1, spop = 1, sismember = 1, scard = 1, smembers = 1}
do
  for _, doc in ipairs(docs) do
    local bad = wrong_type(doc.base + 1, 'hash') or wrong_type(doc.base + 2, 'zset')
    for _, spec in ipairs(doc.specs) do
      bad = bad or key_type_error(spec.key, 'zset')
      if spec.kind == 'l' then
        bad = bad or wrong_type(doc.base + 1 + spec.src, 'list')
      elseif spec.kind == 'e' then
        bad = bad or wrong_type(doc.base + 1 + spec.src, 'set')
      end
    end
    if bad then return bad end
  end
  local at = pos + 1
  for _ = 1, tonumber(ARGV[pos]) do
    local doc, code, kidx = docs[tonumber(ARGV[at])], ARGV[at + 1], tonumber(ARGV[at + 2])
    local want
    if ARGV[at + 3] ~= '' then want = 'hash'
    elseif LIST_OPS[code] then want = 'list'
    elseif HASH_OPS[code] then want = 'hash'
    elseif SET_OPS[code] then want = 'set' end
    if want then
      local bad = wrong_type(doc.base + kidx, want)
      if bad then return bad end
    end
    at = at + 5 + tonumber(ARGV[at + 4])
  end
end

-- no orphans: every document must exist before anything is written
local skipped = {}
for d, doc in ipairs(docs) do
  if redis.call('EXISTS', KEYS[doc.base + 1]) == 0 then
    if doc.flags ~= 'i' then return {0, d} end
    doc.missing = true
    skipped[#skipped + 1] = d
  end
end

local EXACT = 9007199254740992 -- 2^53: beyond it Lua numbers are not exact integers

local function reject(reason) error({rapyer = reason}) end

local function call(...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then reject(r.err) end
  return r
end

local function int_of(v, what)
  if not v then reject(what .. ' is missing') end
  if not string.match(v, '^%-?%d+$') then reject(what .. ' is not an integer: ' .. v) end
  local n = tonumber(v)
  if n >= EXACT or n <= -EXACT then reject(what .. ' is beyond 2^53, outside exact server-side arithmetic') end
  return n
end

local function num_of(v, what)
  local n = v and tonumber(v)
  if not n then reject(what .. ' is not a number: ' .. tostring(v)) end
  return n
end

local function exact_int(n)
  if n ~= n or n >= EXACT or n <= -EXACT then reject('integer overflow') end
  return string.format('%.0f', n)
end

local function float_text(n)
  if n ~= n then return 'NaN' end
  if n == math.huge then return 'inf' end
  if n == -math.huge then return '-inf' end
  return string.format('%.17g', n)
end

-- list mutators: reply the new length, plus the whole list when the client's copy
-- (whose length it sends) was stale before the op, so the local mirror ends equal. A
-- client without a local copy sends "-" (no number): it never gets the whole list.
local function list_reply(key, before, client_len, extra)
  local out = {call('LLEN', key)}
  if extra ~= nil then out[2] = extra else out[2] = false end
  if client_len and before ~= client_len then out[3] = call('LRANGE', key, 0, -1) end
  return out
end

-- Compares two decimal integer texts exactly (no leading zeros), beyond 2^53 too.
local function cmp_dec(a, b)
  local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if na ~= nb then
    if na then return -1 else return 1 end
  end
  local da, db = a, b
  if na then da, db = string.sub(a, 2), string.sub(b, 2) end
  local c = 0
  if #da ~= #db then
    if #da < #db then c = -1 else c = 1 end
  elseif da ~= db then
    if da < db then c = -1 else c = 1 end
  end
  if na then c = -c end
  return c
end

-- Exact decimal integer arithmetic on texts (any length: u64, i128, u128 beyond what
-- HINCRBY, limited to i64, and Lua doubles can hold).
local function digits_of(v)
  local neg = string.sub(v, 1, 1) == '-'
  local d = v
  if neg then d = string.sub(v, 2) end
  d = string.gsub(d, '^0+', '')
  if d == '' then return false, '0' end
  return neg, d
end

-- compares digit strings without sign or leading zeros
local function cmp_mag(a, b)
  if #a ~= #b then if #a < #b then return -1 else return 1 end end
  if a == b then return 0 elseif a < b then return -1 end
  return 1
end

local function add_mag(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i >= 1 or j >= 1 or carry > 0 do
    local x = carry
    if i >= 1 then x = x + string.byte(a, i) - 48 end
    if j >= 1 then x = x + string.byte(b, j) - 48 end
    out[#out + 1] = x % 10
    carry = (x - x % 10) / 10
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end

-- a - b for digit strings with a >= b
local function sub_mag(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i >= 1 do
    local x = string.byte(a, i) - 48 - borrow
    if j >= 1 then x = x - (string.byte(b, j) - 48) end
    if x < 0 then x = x + 10; borrow = 1 else borrow = 0 end
    out[#out + 1] = x
    i, j = i - 1, j - 1
  end
  local r = string.gsub(string.reverse(table.concat(out)), '^0+', '')
  if r == '' then return '0' end
  return r
end

-- a + b for decimal integer texts, exactly
local function add_dec(a, b)
  local na, da = digits_of(a)
  local nb, db = digits_of(b)
  local neg, mag
  if na == nb then
    neg, mag = na, add_mag(da, db)
  else
    local c = cmp_mag(da, db)
    if c == 0 then return '0' end
    if c > 0 then neg, mag = na, sub_mag(da, db) else neg, mag = nb, sub_mag(db, da) end
  end
  if neg and mag ~= '0' then return '-' .. mag end
  return mag
end

-- args: operand, lowest and highest value of the Rust integer type
local function check_bounds(v, a)
  if cmp_dec(v, a[2]) < 0 or cmp_dec(v, a[3]) > 0 then
    reject('integer overflow: ' .. v .. ' is outside ' .. a[2] .. '..=' .. a[3])
  end
end

-- map and set mutators: same shape as lists, the whole content when the client was stale
local function coll_reply(key, kind, before, client_len, extra)
  local out
  if kind == 'h' then out = {call('HLEN', key)} else out = {call('SCARD', key)} end
  if extra ~= nil then out[2] = extra else out[2] = false end
  if client_len and before ~= client_len then
    if kind == 'h' then out[3] = call('HGETALL', key) else out[3] = call('SMEMBERS', key) end
  end
  return out
end

-- Calls f(first, last) over a[2..] in runs of at most 1000 (Lua's unpack() takes a few
-- thousand values at most); runs are even, so hash field/value pairs never split.
local function each_batch(a, f)
  for i = 2, #a, 1000 do f(i, math.min(i + 999, #a)) end
end

local function int_op(f)
  return function(key, field, a)
    local cur = int_of(call('HGET', key, field), 'stored value')
    local v = exact_int(f(cur, int_of(a[1], 'operand')))
    check_bounds(v, a)
    call('HSET', key, field, v)
    return v
  end
end

local function float_op(f)
  return function(key, field, a)
    local cur = num_of(call('HGET', key, field), 'stored value')
    local v = float_text(f(cur, num_of(a[1], 'operand')))
    call('HSET', key, field, v)
    return v
  end
end

local OPS = {
  set = function(key, field, a) call('HSET', key, field, a[1]); return 1 end,
  clear = function(key, field) return call('HDEL', key, field) end,
  get = function(key, field) return call('HGET', key, field) or false end,
  incr = function(key, field, a)
    local before = call('HGET', key, field)
    if not before then reject('stored value is missing') end
    if not string.match(before, '^%-?%d+$') then reject('stored value is not an integer: ' .. before) end
    -- decimal text arithmetic: exact over the Rust type's whole range (HINCRBY stops at
    -- i64, Lua numbers at 2^53); checked before anything is written
    local v = add_dec(before, a[1])
    check_bounds(v, a)
    call('HSET', key, field, v)
    return v
  end,
  -- IEEE double addition, formatted to round-trip (HINCRBYFLOAT keeps 17 decimals only)
  incrf = float_op(function(x, y) return x + y end),
  mul = int_op(function(x, y) return x * y end),
  floordiv = int_op(function(x, y)
    if y == 0 then reject('division by zero') end
    return math.floor(x / y)
  end),
  mod = int_op(function(x, y)
    if y == 0 then reject('division by zero') end
    return x - math.floor(x / y) * y
  end),
  pow = int_op(function(x, y)
    if y < 0 then reject('negative exponent on an integer') end
    local r = 1
    for _ = 1, y do
      r = r * x
      if r >= EXACT or r <= -EXACT then reject('integer overflow') end
    end
    return r
  end),
  min = int_op(function(x, y) return math.min(x, y) end),
  max = int_op(function(x, y) return math.max(x, y) end),
  mulf = float_op(function(x, y) return x * y end),
  divf = float_op(function(x, y)
    if y == 0 then reject('division by zero') end
    return x / y
  end),
  powf = float_op(function(x, y) return x ^ y end),
  append = function(key, field, a)
    local cur = call('HGET', key, field)
    if not cur then reject('stored value is missing') end
    local v = cur .. a[1]
    call('HSET', key, field, v)
    return v
  end,
  strlen = function(key, field) return call('HSTRLEN', key, field) end,
  toggle = function(key, field)
    local cur = call('HGET', key, field)
    local v
    if cur == '1' or cur == 'true' then v = '0' elseif cur == '0' or cur == 'false' then v = '1'
    else reject('stored value is not a bool: ' .. tostring(cur)) end
    call('HSET', key, field, v)
    return v
  end,
  rpush = function(key, _, a)
    local before = call('LLEN', key)
    each_batch(a, function(first, last) call('RPUSH', key, unpack(a, first, last)) end)
    return list_reply(key, before, tonumber(a[1]))
  end,
  lpush = function(key, _, a)
    local before = call('LLEN', key)
    -- LPUSH a b c leaves c b a: push in reverse so the items keep their order
    for i = #a, 2, -1 do call('LPUSH', key, a[i]) end
    return list_reply(key, before, tonumber(a[1]))
  end,
  rpop = function(key, _, a)
    local before = call('LLEN', key)
    if before == 0 then reject('pop from an empty list') end
    local v = call('RPOP', key)
    return list_reply(key, before, tonumber(a[1]), v)
  end,
  lpop = function(key, _, a)
    local before = call('LLEN', key)
    if before == 0 then reject('pop from an empty list') end
    local v = call('LPOP', key)
    return list_reply(key, before, tonumber(a[1]), v)
  end,
  llen = function(key) return call('LLEN', key) end,
  linsert = function(key, _, a)
    local before = call('LLEN', key)
    local i = tonumber(a[2])
    if i < 0 then i = math.max(before + i, 0) end
    if i >= before then
      call('RPUSH', key, a[3])
    elseif i == 0 then
      call('LPUSH', key, a[3])
    else
      local tail = call('LRANGE', key, i, -1)
      call('LTRIM', key, 0, i - 1)
      call('RPUSH', key, a[3])
      for j = 1, #tail, 1000 do
        call('RPUSH', key, unpack(tail, j, math.min(j + 999, #tail)))
      end
    end
    return list_reply(key, before, tonumber(a[1]))
  end,
  lrem = function(key, _, a)
    local before = call('LLEN', key)
    local n = call('LREM', key, a[2], a[3])
    return list_reply(key, before, tonumber(a[1]), n)
  end,
  lset = function(key, _, a)
    local before = call('LLEN', key)
    local i = tonumber(a[2])
    if i >= before or i < -before then reject('index ' .. a[2] .. ' out of range for length ' .. before) end
    call('LSET', key, a[2], a[3])
    return list_reply(key, before, tonumber(a[1]))
  end,
  lindex = function(key, _, a) return call('LINDEX', key, a[1]) or false end,
  ltrim = function(key, _, a)
    local before = call('LLEN', key)
    call('LTRIM', key, a[2], a[3])
    return list_reply(key, before, tonumber(a[1]))
  end,
  -- maps (args[1] = the client's entry count)
  hset = function(key, _, a)
    local before = call('HLEN', key)
    each_batch(a, function(first, last) call('HSET', key, unpack(a, first, last)) end)
    return coll_reply(key, 'h', before, tonumber(a[1]))
  end,
  hdel = function(key, _, a)
    local before = call('HLEN', key)
    local n = call('HDEL', key, a[2])
    return coll_reply(key, 'h', before, tonumber(a[1]), n)
  end,
  hpop = function(key, _, a)
    local before = call('HLEN', key)
    local v = call('HGET', key, a[2])
    if not v then reject('no entry ' .. a[2]) end
    call('HDEL', key, a[2])
    return coll_reply(key, 'h', before, tonumber(a[1]), v)
  end,
  hpopitem = function(key, _, a)
    local before = call('HLEN', key)
    if before == 0 then reject('popitem from an empty map') end
    local f = call('HRANDFIELD', key)
    local v = call('HGET', key, f)
    call('HDEL', key, f)
    return coll_reply(key, 'h', before, tonumber(a[1]), {f, v})
  end,
  hincr = function(key, _, a)
    local before = call('HLEN', key)
    local old = call('HGET', key, a[2]) or '0'
    if not string.match(old, '^%-?%d+$') then reject('stored value is not an integer: ' .. old) end
    local v = add_dec(old, a[3])
    if cmp_dec(v, a[4]) < 0 or cmp_dec(v, a[5]) > 0 then
      reject('integer overflow: ' .. v .. ' is outside ' .. a[4] .. '..=' .. a[5])
    end
    call('HSET', key, a[2], v)
    return coll_reply(key, 'h', before, tonumber(a[1]), v)
  end,
  hget = function(key, _, a) return call('HGET', key, a[1]) or false end,
  hkeys = function(key) return call('HKEYS', key) end,
  hlen = function(key) return call('HLEN', key) end,
  hgetall = function(key) return call('HGETALL', key) end,
  -- sets
  sadd = function(key, _, a)
    local before = call('SCARD', key)
    local n = 0
    each_batch(a, function(first, last) n = n + call('SADD', key, unpack(a, first, last)) end)
    return coll_reply(key, 's', before, tonumber(a[1]), n)
  end,
  srem = function(key, _, a)
    local before = call('SCARD', key)
    local n = call('SREM', key, a[2])
    return coll_reply(key, 's', before, tonumber(a[1]), n)
  end,
  spop = function(key, _, a)
    local before = call('SCARD', key)
    if before == 0 then reject('pop from an empty set') end
    local v = call('SPOP', key)
    return coll_reply(key, 's', before, tonumber(a[1]), v)
  end,
  sismember = function(key, _, a) return call('SISMEMBER', key, a[1]) end,
  scard = function(key) return call('SCARD', key) end,
  smembers = function(key) return call('SMEMBERS', key) end,
  lrange = function(key, _, a) return call('LRANGE', key, a[1], a[2]) end,
  del = function(key) return call('DEL', key) end,
}

local nops = tonumber(ARGV[pos])
pos = pos + 1
local undo = nil
if nops > 1 then undo = {} end

local function remember(key)
  if undo and undo[key] == nil then
    local dump = redis.call('DUMP', key)
    if dump then undo[key] = {dump, redis.call('PTTL', key)} else undo[key] = false end
  end
end

-- index entries changed by earlier ops, undone in reverse order on failure
local index_undo = {}

local function rollback()
  for i = #index_undo, 1, -1 do
    local u = index_undo[i]
    index_update(u.spec.key, u.spec.kind == 'n', u.id, u.new, u.old)
  end
  if not undo then return end
  for key, saved in pairs(undo) do
    redis.call('DEL', key)
    if saved then
      local ttl = saved[2]
      if ttl < 0 then ttl = 0 end
      redis.call('RESTORE', key, ttl, saved[1])
    end
  end
end

local results = {1, skipped}
for i = 1, nops do
  local doc = docs[tonumber(ARGV[pos])]
  local kidx = tonumber(ARGV[pos + 2])
  local code, key, field, argc = ARGV[pos + 1], KEYS[doc.base + kidx], ARGV[pos + 3], tonumber(ARGV[pos + 4])
  local args = {}
  for j = 1, argc do args[j] = ARGV[pos + 4 + j] end
  pos = pos + 5 + argc
  if doc.missing then
    results[i + 2] = false
  else
    local op = OPS[code]
    if not op then rollback(); return redis.error_reply('RAPYER ' .. i .. ' unknown op ' .. code) end
    remember(key)
    -- an op on an indexed root field moves its index entry: computed from the stored
    -- values before and after, never from the client's copy
    local spec
    if field ~= '' then spec = doc.indexed[field] else spec = doc.by_src[kidx - 1] end
    local old = spec and spec_value(spec, KEYS[doc.base + 1], keys_after(doc.base + 1))
    local ok, res = pcall(op, key, field, args)
    if not ok then
      rollback()
      local reason = type(res) == 'table' and res.rapyer or tostring(res)
      return redis.error_reply('RAPYER ' .. i .. ' ' .. reason)
    end
    if spec then
      local new = spec_value(spec, KEYS[doc.base + 1], keys_after(doc.base + 1))
      local score = spec.kind == 'n' and new and tonumber(new)
      if spec.kind == 'n' and new and (score == nil or score ~= score) then
        -- NaN (or text) has no place in a numeric index: restore the field, undo the
        -- plan, refuse (checked here because set/mul/div can all produce it)
        if old then redis.call('HSET', key, field, old) else redis.call('HDEL', key, field) end
        rollback()
        return redis.error_reply('RAPYER ' .. i .. ' ' .. tostring(new) .. ' cannot be stored in an indexed number field')
      end
      if type(new) == 'table' or type(old) == 'table' or old ~= new then
        index_update(spec.key, spec.kind == 'n', doc.id, old, new)
        index_undo[#index_undo + 1] = {spec = spec, id = doc.id, old = old, new = new}
      end
    end
    results[i + 2] = res
  end
end

-- every key of a document shares one TTL
for _, doc in ipairs(docs) do
  if not doc.missing then
    local root = KEYS[doc.base + 1]
    local refreshed = doc.refresh ~= '0'
      and refresh_when_due(doc.base + 1, doc.base + doc.nkeys, doc.base + 2, doc.id, doc.refresh)
    if not refreshed then
      local pttl = redis.call('PTTL', root)
      if pttl > 0 then
        for k = 3, doc.nkeys do
          local key = KEYS[doc.base + k]
          if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, pttl) end
        end
      end
    end
  end
end
return results
