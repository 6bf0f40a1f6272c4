-- Loads one document as one snapshot and pushes its TTL back (refresh on read).
--
-- KEYS[1]    root hash        KEYS[2]  id index of the shard
-- KEYS[3..]  every collection key of the document
-- ARGV[1]    the id           ARGV[2]  TTL in ms
-- ARGV[3..]  the kind of each collection key: "l" list, "h" hash, "s" set
--
-- Reply: one array per key read (root first), as HGETALL / LRANGE / SMEMBERS reply.

local out = {redis.call('HGETALL', KEYS[1])}
for k = 3, #KEYS do
  local kind = ARGV[k]
  if kind == 'l' then
    out[k - 1] = redis.call('LRANGE', KEYS[k], 0, -1)
  elseif kind == 'h' then
    out[k - 1] = redis.call('HGETALL', KEYS[k])
  else
    out[k - 1] = redis.call('SMEMBERS', KEYS[k])
  end
end
if #out[1] > 0 then
  local ttl = tonumber(ARGV[2])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for k = 1, #KEYS do
    if k ~= 2 then redis.call('PEXPIRE', KEYS[k], ttl) end
  end
  redis.call('ZADD', KEYS[2], 'XX', now + ttl, ARGV[1])
end
return out
