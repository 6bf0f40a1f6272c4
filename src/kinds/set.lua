-- Ops on sets, prepended after exec/ops.lua (scripts/mod.rs). args[1] is the client's
-- member count.

do -- numeric for: a function library's load runs without globals (no ipairs)
  local codes = {'sadd', 'srem', 'spop', 'sismember', 'scard', 'smembers'}
  for i = 1, #codes do OP_TYPES[codes[i]] = 'set' end
end

OPS.sadd = function(key, _, a)
  local before = call('SCARD', key)
  local n = 0
  each_batch(a, function(first, last) n = n + call('SADD', key, unpack(a, first, last)) end)
  return coll_reply(key, 's', before, tonumber(a[1]), n)
end
OPS.srem = function(key, _, a)
  local before = call('SCARD', key)
  local n = call('SREM', key, a[2])
  return coll_reply(key, 's', before, tonumber(a[1]), n)
end
OPS.spop = function(key, _, a)
  local before = call('SCARD', key)
  if before == 0 then reject('pop from an empty set') end
  local v = call('SPOP', key)
  return coll_reply(key, 's', before, tonumber(a[1]), v)
end
OPS.sismember = function(key, _, a) return call('SISMEMBER', key, a[1]) end
OPS.scard = function(key) return call('SCARD', key) end
OPS.smembers = function(key) return call('SMEMBERS', key) end
