-- Reads by path (kinds/nested): the msgpack walker and path_get, prepended after
-- exec/base.lua in exec.lua's and read_plan.lua's sources (scripts/mod.rs). A path
-- starts at a container value: a root hash field (the op's field), a list element by
-- index or a map value by key (the op's collection key), then walks msgpack steps
-- inside it. The walker never decodes what it passes over: it reads
-- msgpack headers to find the byte range of the addressed sub-value, so a read returns
-- the exact stored bytes and a write splices bytes the client encoded.
--
-- Common args: a[1] the key's Redis type ("hash" / "list", checked before the plan
-- writes), a[2] the selector (list index, map key; "" for a root field), a[3] the
-- client's list length ("-": no local copy), then the op's own arguments, then the
-- steps: "k" .. msgpack bytes of a map key (struct field names are msgpack strings),
-- or "i" .. a decimal index (negative from the end).

do -- numeric for: a function library's load runs without globals (no ipairs)
  local codes = {'path_get', 'path_set', 'path_incr', 'path_push', 'path_remove'}
  for i = 1, #codes do OP_TYPES[codes[i]] = 'arg' end
end

local function mp_bad(what) reject('stored value is not valid msgpack (' .. what .. ')') end

local function be_uint(s, p, n)
  local v = 0
  for i = p, p + n - 1 do
    local b = string.byte(s, i)
    if not b then mp_bad('truncated') end
    v = v * 256 + b
  end
  return v
end

-- The value at p: 'a' array / 'm' map with its item count, or 'v' with its total length;
-- and the header length.
local function mp_head(s, p)
  local b = string.byte(s, p)
  if not b then mp_bad('truncated') end
  if b < 0x80 or b >= 0xe0 then return 'v', 1, 1 end
  if b < 0x90 then return 'm', b - 0x80, 1 end
  if b < 0xa0 then return 'a', b - 0x90, 1 end
  if b < 0xc0 then return 'v', 1 + b - 0xa0, 1 end
  -- the common fixed-size numbers first (unsigned and signed ints, floats)
  if b >= 0xcc and b <= 0xcf then return 'v', 1 + 2 ^ (b - 0xcc), 1 end
  if b >= 0xd0 and b <= 0xd3 then return 'v', 1 + 2 ^ (b - 0xd0), 1 end
  if b == 0xcb then return 'v', 9, 1 end
  if b == 0xc0 or b == 0xc2 or b == 0xc3 then return 'v', 1, 1 end
  if b == 0xc4 or b == 0xd9 then return 'v', 2 + be_uint(s, p + 1, 1), 2 end
  if b == 0xc5 or b == 0xda then return 'v', 3 + be_uint(s, p + 1, 2), 3 end
  if b == 0xc6 or b == 0xdb then return 'v', 5 + be_uint(s, p + 1, 4), 5 end
  if b == 0xc7 then return 'v', 3 + be_uint(s, p + 1, 1), 3 end
  if b == 0xc8 then return 'v', 4 + be_uint(s, p + 1, 2), 4 end
  if b == 0xc9 then return 'v', 6 + be_uint(s, p + 1, 4), 6 end
  if b == 0xca then return 'v', 5, 1 end
  if b >= 0xd4 and b <= 0xd8 then return 'v', 2 + 2 ^ (b - 0xd4), 2 end
  if b == 0xdc then return 'a', be_uint(s, p + 1, 2), 3 end
  if b == 0xdd then return 'a', be_uint(s, p + 1, 4), 5 end
  if b == 0xde then return 'm', be_uint(s, p + 1, 2), 3 end
  if b == 0xdf then return 'm', be_uint(s, p + 1, 4), 5 end
  mp_bad('reserved byte')
end

-- The position after the value at p (iterative: nesting depth costs no stack).
local function mp_skip(s, p)
  local pending = 1
  while pending > 0 do
    local kind, n, h = mp_head(s, p)
    pending = pending - 1
    if kind == 'v' then
      p = p + n
    else
      p = p + h
      if kind == 'a' then pending = pending + n else pending = pending + 2 * n end
    end
  end
  if p > #s + 1 then mp_bad('truncated') end
  return p
end

-- Walks steps[first..] from the start of s: the addressed value's start and end
-- (exclusive), or nil when an element or key is absent; a step that meets a value of
-- another shape raises.
local function mp_find(s, steps, first)
  local p = 1
  for idx = first, #steps do
    local st = steps[idx]
    local kind, n, h = mp_head(s, p)
    if string.sub(st, 1, 1) == 'i' then
      if kind ~= 'a' then reject('path step ' .. (idx - first + 1) .. ' expects a list, the stored value is not one') end
      local i = tonumber(string.sub(st, 2))
      if i < 0 then i = n + i end
      if i < 0 or i >= n then return nil end
      p = p + h
      for _ = 1, i do p = mp_skip(s, p) end
    else
      if kind ~= 'm' then reject('path step ' .. (idx - first + 1) .. ' expects a map or struct, the stored value is not one') end
      local key = string.sub(st, 2)
      local q, found = p + h, nil
      for _ = 1, n do
        local ke = mp_skip(s, q)
        -- lengths first: most keys differ in length or are not compared at all
        if ke - q == #key and string.sub(s, q, ke - 1) == key then found = ke; break end
        q = mp_skip(s, ke)
      end
      if not found then return nil end
      p = found
    end
  end
  return p, mp_skip(s, p)
end

-- The decimal text of the 64-bit integer in 8 big-endian bytes at p (negative: two's
-- complement when `signed`): exact, where a Lua number is exact only to 2^53.
local function mp_int64(s, p, signed)
  local hi, lo = be_uint(s, p, 4), be_uint(s, p + 4, 4)
  local neg = signed and hi >= 2147483648
  if neg then
    hi, lo = 4294967295 - hi, 4294967296 - lo
    if lo == 4294967296 then lo, hi = 0, hi + 1 end
  end
  -- hi * 2^32 + lo in base-10^6 limbs (each product stays below 2^53)
  local B, r = 1000000, {lo % 1000000, math.floor(lo / 1000000), 0, 0}
  r[1] = r[1] + hi * 967296
  r[2] = r[2] + hi * 4294
  for k = 1, 3 do
    local c = math.floor(r[k] / B)
    r[k], r[k + 1] = r[k] - c * B, r[k + 1] + c
  end
  local out, top = '', 4
  while top > 1 and r[top] == 0 do top = top - 1 end
  out = string.format('%d', r[top])
  for k = top - 1, 1, -1 do out = out .. string.format('%06d', r[k]) end
  if neg then return '-' .. out end
  return out
end

-- The scalar at p as text a condition compares (whenp conditions of cond.lua walk with
-- mp_find, then read it here): integers exactly in decimal, floats in 17 digits, strings
-- and binaries as their bytes, booleans "1"/"0"; nil for a msgpack nil. Arrays, maps and
-- extensions raise.
local function mp_text(s, p)
  local b = string.byte(s, p)
  if not b then mp_bad('truncated') end
  if b < 0x80 then return tostring(b) end
  if b >= 0xe0 then return tostring(b - 256) end
  if b >= 0xa0 and b < 0xc0 then return string.sub(s, p + 1, p + b - 0xa0) end
  if b == 0xc0 then return nil end
  if b == 0xc2 then return '0' end
  if b == 0xc3 then return '1' end
  if b >= 0xcc and b <= 0xce then return tostring(be_uint(s, p + 1, 2 ^ (b - 0xcc))) end
  if b == 0xcf then return mp_int64(s, p + 1, false) end
  if b >= 0xd0 and b <= 0xd2 then
    local n = 2 ^ (b - 0xd0)
    local v = be_uint(s, p + 1, n)
    if v >= 2 ^ (8 * n - 1) then v = v - 2 ^ (8 * n) end
    return tostring(v)
  end
  if b == 0xd3 then return mp_int64(s, p + 1, true) end
  if b == 0xca or b == 0xcb then
    local n = (b == 0xca) and 4 or 8
    if #s < p + n then mp_bad('truncated') end
    local x = struct.unpack((b == 0xca) and '>f' or '>d', string.sub(s, p + 1, p + n))
    return string.format('%.17g', x)
  end
  local kind, n, h = mp_head(s, p)
  if kind == 'v' and (b == 0xc4 or b == 0xc5 or b == 0xc6 or b == 0xd9 or b == 0xda or b == 0xdb) then
    return string.sub(s, p + h, p + n - 1)
  end
  reject('the value at the path is not a single value a condition can compare')
end

-- The container value (root field, list element, map value) the path starts from.
local function container_get(key, field, a)
  if field ~= '' then return call('HGET', key, field) end
  if a[1] == 'list' then return call('LINDEX', key, a[2]) end
  return call('HGET', key, a[2])
end

-- args: common, the display path, steps. Reply: the bytes, false when absent, or
-- {reason} when the stored value does not have the path's shape.
OPS.path_get = function(key, field, a)
  local c = container_get(key, field, a)
  if not c then return false end
  if #a < 5 then return c end
  local ok, s, e = pcall(mp_find, c, a, 5)
  if not ok then return {type(s) == 'table' and s.rapyer or tostring(s)} end
  if not s then return false end
  return string.sub(c, s, e - 1)
end

-- args: common, the display path, the new value's bytes, steps.
