-- Ops on root hash fields (scalars, options, blobs), prepended after exec/ops.lua
-- (scripts/mod.rs).

OPS.set = function(key, field, a) call('HSET', key, field, a[1]); return 1 end
-- set with a value computed in the program (exec/context.rs): replies it for the mirror
OPS.setv = function(key, field, a) call('HSET', key, field, a[1]); return a[1] end
OPS.clear = function(key, field) return call('HDEL', key, field) end
OPS.get = function(key, field) return call('HGET', key, field) or false end
OPS.incr = function(key, field, a)
  local before = call('HGET', key, field)
  if not before then reject('stored value is missing') end
  if not string.match(before, '^%-?%d+$') then reject('stored value is not an integer: ' .. before) end
  -- decimal text arithmetic: exact over the Rust type's whole range (HINCRBY stops at
  -- i64, Lua numbers at 2^53); checked before anything is written
  local v = add_dec(before, a[1])
  check_bounds(v, a)
  call('HSET', key, field, v)
  return v
end
OPS.incrf = float_op(function(x, y) return x + y end)
OPS.mul = int_op(function(x, y) return x * y end)
OPS.floordiv = int_op(function(x, y)
  if y == 0 then reject('division by zero') end
  return math.floor(x / y)
end)
OPS.mod = int_op(function(x, y)
  if y == 0 then reject('division by zero') end
  return x - math.floor(x / y) * y
end)
OPS.pow = int_op(function(x, y)
  if y < 0 then reject('negative exponent on an integer') end
  local r = 1
  for _ = 1, y do
    r = r * x
    if r >= EXACT or r <= -EXACT then reject('integer overflow') end
  end
  return r
end)
OPS.min = int_op(function(x, y) return math.min(x, y) end)
OPS.max = int_op(function(x, y) return math.max(x, y) end)
OPS.mulf = float_op(function(x, y) return x * y end)
OPS.divf = float_op(function(x, y)
  if y == 0 then reject('division by zero') end
  return x / y
end)
OPS.powf = float_op(function(x, y) return x ^ y end)
OPS.append = function(key, field, a)
  local cur = call('HGET', key, field)
  if not cur then reject('stored value is missing') end
  local v = cur .. a[1]
  call('HSET', key, field, v)
  return v
end
OPS.strlen = function(key, field) return call('HSTRLEN', key, field) end
OPS.toggle = function(key, field)
  local cur = call('HGET', key, field)
  local v
  if cur == '1' or cur == 'true' then v = '0' elseif cur == '0' or cur == 'false' then v = '1'
  else reject('stored value is not a bool: ' .. tostring(cur)) end
  call('HSET', key, field, v)
  return v
end
