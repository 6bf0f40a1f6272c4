-- Ops on maps, prepended after exec/ops.lua (scripts/mod.rs). args[1] is the client's
-- entry count.

do -- numeric for: a function library's load runs without globals (no ipairs)
  local codes = {'hset', 'hdel', 'hpop', 'hpopitem', 'hincr', 'hget', 'hkeys', 'hlen', 'hgetall'}
  for i = 1, #codes do OP_TYPES[codes[i]] = 'hash' end
end

OPS.hset = function(key, _, a)
  local before = call('HLEN', key)
  each_batch(a, function(first, last) call('HSET', key, unpack(a, first, last)) end)
  return coll_reply(key, 'h', before, tonumber(a[1]))
end
OPS.hdel = function(key, _, a)
  local before = call('HLEN', key)
  local n = call('HDEL', key, a[2])
  return coll_reply(key, 'h', before, tonumber(a[1]), n)
end
OPS.hpop = function(key, _, a)
  local before = call('HLEN', key)
  local v = call('HGET', key, a[2])
  if not v then reject('no entry ' .. a[2]) end
  call('HDEL', key, a[2])
  return coll_reply(key, 'h', before, tonumber(a[1]), v)
end
OPS.hpopitem = function(key, _, a)
  local before = call('HLEN', key)
  if before == 0 then reject('popitem from an empty map') end
  local f = call('HRANDFIELD', key)
  local v = call('HGET', key, f)
  call('HDEL', key, f)
  return coll_reply(key, 'h', before, tonumber(a[1]), {f, v})
end
OPS.hincr = function(key, _, a)
  local before = call('HLEN', key)
  local old = call('HGET', key, a[2]) or '0'
  if not string.match(old, '^%-?%d+$') then reject('stored value is not an integer: ' .. old) end
  local v = add_dec(old, a[3])
  if cmp_dec(v, a[4]) < 0 or cmp_dec(v, a[5]) > 0 then
    reject('integer overflow: ' .. v .. ' is outside ' .. a[4] .. '..=' .. a[5])
  end
  call('HSET', key, a[2], v)
  return coll_reply(key, 'h', before, tonumber(a[1]), v)
end
OPS.hget = function(key, _, a) return call('HGET', key, a[1]) or false end
OPS.hkeys = function(key) return call('HKEYS', key) end
OPS.hlen = function(key) return call('HLEN', key) end
OPS.hgetall = function(key) return call('HGETALL', key) end
