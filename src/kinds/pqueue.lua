-- PriorityQueue ops (kinds/pqueue.rs), prepended after structure.lua (scripts/mod.rs).
-- A member is the priority's order key (args[2] bytes), an 8-byte big-endian sequence
-- number, then the value's bytes; every score is 0, so the set sorts by member: by
-- priority, then by arrival, and ZPOPMIN pops the head. args[1] is the key's type.

OP_TYPES.pq_push, OP_TYPES.pq_remove, OP_TYPES.pq_update = 'arg', 'arg', 'arg'

local function pq_seq_bytes(n)
  local b = {}
  for i = 8, 1, -1 do
    b[i] = n % 256
    n = math.floor(n / 256)
  end
  return string.char(unpack(b))
end

-- the sequence number after the last member whose order key is `prefix` (0: none):
-- ZREVRANGEBYLEX from just below the least string above every `prefix…`
local function pq_next_seq(key, prefix, w)
  local upper = prefix
  while #upper > 0 and string.byte(upper, #upper) == 255 do upper = string.sub(upper, 1, -2) end
  local max = '+'
  if #upper > 0 then
    max = '(' .. string.sub(upper, 1, -2) .. string.char(string.byte(upper, #upper) + 1)
  end
  local last = call('ZREVRANGEBYLEX', key, max, '[' .. prefix, 'LIMIT', 0, 1)[1]
  if not last then return 0 end
  if #last < w + 8 then reject('entry without a sequence number in ' .. key) end
  local n = 0
  for i = w + 1, w + 8 do n = n * 256 + string.byte(last, i) end
  return n + 1
end

local function pq_add(key, prefix, value, w)
  call('ZADD', key, 0, prefix .. pq_seq_bytes(pq_next_seq(key, prefix, w)) .. value)
end

-- args[3..]: order key .. value bytes per entry; the length after
OPS.pq_push = function(key, _, a)
  local w = tonumber(a[2])
  for i = 3, #a do pq_add(key, string.sub(a[i], 1, w), string.sub(a[i], w + 1), w) end
  return call('ZCARD', key)
end

-- every member holding the value bytes `value`, in pop order (a scan: O(n))
local function pq_find(key, w, value)
  local found = {}
  for _, m in ipairs(call('ZRANGE', key, 0, -1)) do
    if #m == w + 8 + #value and string.sub(m, w + 9) == value then found[#found + 1] = m end
  end
  return found
end

-- args[3]: the value's bytes; how many entries were removed
OPS.pq_remove = function(key, _, a)
  local found = pq_find(key, tonumber(a[2]), a[3])
  for _, m in ipairs(found) do call('ZREM', key, m) end
  return #found
end

-- args[3]: the value's bytes, args[4]: the new order key; every entry of the value
-- moves behind those already at the new priority, in its order; how many moved
OPS.pq_update = function(key, _, a)
  local w = tonumber(a[2])
  local found = pq_find(key, w, a[3])
  for _, m in ipairs(found) do call('ZREM', key, m) end
  for _ = 1, #found do pq_add(key, a[4], a[3], w) end
  return #found
end
