-- Sets (or removes) the TTL of every key of one document, and its id index score.
--
-- KEYS[1]  root hash   KEYS[2]  id index of the shard   KEYS[3..]  collection keys
-- ARGV[1]  the id      ARGV[2]  TTL in ms, "0" to persist (no expiry)
--
-- Reply: 1 when the document exists, 0 when it does not (nothing is created).

local bad = wrong_type(2, 'zset')
if bad then return bad end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  refresh_ttl(1, #KEYS, 2, ARGV[1], ttl)
else
  for k = 1, #KEYS do
    if k ~= 2 then redis.call('PERSIST', KEYS[k]) end
  end
  redis.call('ZADD', KEYS[2], 'XX', '+inf', ARGV[1])
end
return 1
