-- The executor's shared part, prepended after base.lua and before the kinds' op files
-- and exec.lua (scripts/mod.rs): the helpers the ops call.

local EXACT = 9007199254740992 -- 2^53: beyond it Lua numbers are not exact integers

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


OPS.del = function(key) return call('DEL', key) end
