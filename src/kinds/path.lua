-- Writes by path (kinds/nested), prepended after path_read.lua (the walker, reads) in
-- exec.lua's source (scripts/mod.rs).

local function be_bytes(v, n)
  local out = {}
  for i = n, 1, -1 do
    out[i] = v % 256
    v = (v - v % 256) / 256
  end
  return string.char(unpack(out))
end

-- The msgpack encoding rmp writes for an integer (the most compact one); |n| < 2^53.
local function mp_int(n)
  if n >= 0 then
    if n < 128 then return string.char(n) end
    if n < 256 then return string.char(0xcc, n) end
    if n < 65536 then return string.char(0xcd) .. be_bytes(n, 2) end
    if n < 4294967296 then return string.char(0xce) .. be_bytes(n, 4) end
    return string.char(0xcf) .. be_bytes(n, 8)
  end
  if n >= -32 then return string.char(256 + n) end
  if n >= -128 then return string.char(0xd0, 256 + n) end
  if n >= -32768 then return string.char(0xd1) .. be_bytes(65536 + n, 2) end
  if n >= -2147483648 then return string.char(0xd2) .. be_bytes(4294967296 + n, 4) end
  local hi = math.floor(n / 4294967296)
  return string.char(0xd3) .. be_bytes(hi + 4294967296, 4) .. be_bytes(n - hi * 4294967296, 4)
end

-- The number at p: its value and 'i' (integer; magnitudes beyond 2^53 come out
-- inexact, callers refuse them), 'f' (float32) or 'd' (float64); nil when no number.
local function mp_number(s, p)
  local b = string.byte(s, p)
  if b < 0x80 then return b, 'i' end
  if b >= 0xe0 then return b - 256, 'i' end
  if b >= 0xcc and b <= 0xcf then
    local n = 2 ^ (b - 0xcc)
    if n == 8 then return be_uint(s, p + 1, 4) * 4294967296 + be_uint(s, p + 5, 4), 'i' end
    return be_uint(s, p + 1, n), 'i'
  end
  if b >= 0xd0 and b <= 0xd3 then
    local n = 2 ^ (b - 0xd0)
    if n == 8 then
      local hi = be_uint(s, p + 1, 4)
      if hi >= 2147483648 then hi = hi - 4294967296 end
      return hi * 4294967296 + be_uint(s, p + 5, 4), 'i'
    end
    local v = be_uint(s, p + 1, n)
    if v >= 2 ^ (8 * n - 1) then v = v - 2 ^ (8 * n) end
    return v, 'i'
  end
  if b == 0xca then return struct.unpack('>f', string.sub(s, p + 1, p + 4)), 'f' end
  if b == 0xcb then return struct.unpack('>d', string.sub(s, p + 1, p + 8)), 'd' end
  return nil
end

local function container_put(key, field, a, v)
  if field ~= '' then call('HSET', key, field, v)
  elseif a[1] == 'list' then call('LSET', key, a[2], v)
  else call('HSET', key, a[2], v) end
end

-- The container, which a write needs to exist.
local function container_must(key, field, a, path)
  local c = container_get(key, field, a)
  if not c then
    if a[1] == 'list' and field == '' then reject('no element at index ' .. a[2] .. ' (' .. path .. ')') end
    reject('no value at ' .. path)
  end
  return c
end

-- A write's reply: its result, the new container value, and the whole list when the
-- client's copy of a list was stale (so the mirror ends equal).
local function path_reply(key, field, a, result, c)
  local whole = false
  if field == '' and a[1] == 'list' and a[3] ~= '-' and tonumber(a[3]) ~= call('LLEN', key) then
    whole = call('LRANGE', key, 0, -1)
  end
  return {result, c, whole}
end

OPS.path_set = function(key, field, a)
  local c = container_must(key, field, a, a[4])
  if #a < 6 then
    container_put(key, field, a, a[5])
    return path_reply(key, field, a, a[5], a[5])
  end
  local s, e = mp_find(c, a, 6)
  if not s then reject('no value at ' .. a[4]) end
  c = string.sub(c, 1, s - 1) .. a[5] .. string.sub(c, e)
  container_put(key, field, a, c)
  return path_reply(key, field, a, a[5], c)
end

-- args: common, the display path, the encoding ("m" msgpack, "t" text: a list element
-- or map value itself), "i" integer / "f" float, the operand, the Rust type's lowest
-- and highest value (integers), steps. Integer arithmetic is exact or refused.
OPS.path_incr = function(key, field, a)
  local c = container_must(key, field, a, a[4])
  local int = a[6] == 'i'
  if a[5] == 't' then
    local v
    if int then
      if not string.match(c, '^%-?%d+$') then reject('stored value is not an integer: ' .. c) end
      if not string.match(a[7], '^%-?%d+$') then reject('operand is not an integer') end
      v = add_dec(c, a[7])
      check_bounds(v, {false, a[8], a[9]})
    else
      v = float_text(num_of(c, 'stored value') + num_of(a[7], 'operand'))
    end
    container_put(key, field, a, v)
    return path_reply(key, field, a, v, v)
  end
  local s, e = mp_find(c, a, 10)
  if not s then reject('no value at ' .. a[4]) end
  local cur, kind = mp_number(c, s)
  if not cur then reject('the stored value at ' .. a[4] .. ' is not a number') end
  local new
  if int then
    if kind ~= 'i' then reject('the stored value at ' .. a[4] .. ' is not an integer') end
    if cur >= EXACT or cur <= -EXACT then reject('stored value is beyond 2^53, outside exact server-side arithmetic') end
    local v = exact_int(cur + int_of(a[7], 'operand'))
    check_bounds(v, {false, a[8], a[9]})
    new = mp_int(tonumber(v))
  else
    if kind == 'i' then reject('the stored value at ' .. a[4] .. ' is not a float') end
    local n = cur + num_of(a[7], 'operand')
    if kind == 'f' then new = string.char(0xca) .. struct.pack('>f', n) else new = string.char(0xcb) .. struct.pack('>d', n) end
  end
  c = string.sub(c, 1, s - 1) .. new .. string.sub(c, e)
  container_put(key, field, a, c)
  return path_reply(key, field, a, new, c)
end

local function mp_array_head(n)
  if n < 16 then return string.char(0x90 + n) end
  if n < 65536 then return string.char(0xdc) .. be_bytes(n, 2) end
  return string.char(0xdd) .. be_bytes(n, 4)
end

-- The array at the path: its start, end, item count and header length.
local function array_at(c, a, first)
  local s, e = mp_find(c, a, first)
  if not s then reject('no value at ' .. a[4]) end
  local kind, n, h = mp_head(c, s)
  if kind ~= 'a' then reject('the stored value at ' .. a[4] .. ' is not a list') end
  return s, e, n, h
end

-- args: common, the display path, the item's msgpack bytes, steps. Appends to the list
-- inside the value; replies the new length.
OPS.path_push = function(key, field, a)
  local c = container_must(key, field, a, a[4])
  local s, e, n, h = array_at(c, a, 6)
  c = string.sub(c, 1, s - 1) .. mp_array_head(n + 1) .. string.sub(c, s + h, e - 1) .. a[5] .. string.sub(c, e)
  container_put(key, field, a, c)
  return path_reply(key, field, a, n + 1, c)
end

-- args: common, the display path, the item's msgpack bytes, steps. Removes every item
-- equal to it (byte for byte) from the list inside the value; replies how many.
OPS.path_remove = function(key, field, a)
  local c = container_must(key, field, a, a[4])
  local s, e, n, h = array_at(c, a, 6)
  local kept, removed, p = {}, 0, s + h
  for _ = 1, n do
    local q = mp_skip(c, p)
    local item = string.sub(c, p, q - 1)
    if item == a[5] then removed = removed + 1 else kept[#kept + 1] = item end
    p = q
  end
  if removed > 0 then
    c = string.sub(c, 1, s - 1) .. mp_array_head(n - removed) .. table.concat(kept) .. string.sub(c, e)
    container_put(key, field, a, c)
  end
  return path_reply(key, field, a, removed, c)
end
