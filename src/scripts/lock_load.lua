-- Takes a lock and loads the document in the same step (lock + load: one round trip).
--
-- KEYS[1]    the lock key
-- KEYS[2]    root hash        KEYS[3]  id index of the shard
-- KEYS[4..]  every collection key of the document
-- ARGV[1]    token            ARGV[2]  lease in ms
-- ARGV[3]    the id           ARGV[4]  TTL refresh spec (refresh.lua; "0": none)
-- ARGV[5..]  the kind of each collection key: "l" list, "h" hash, "s" set
--
-- Reply: {0} the lock is held by someone else (nothing changed); {2} the document does
-- not exist (the lock was taken and released again); {1, root, coll1, ...} locked and
-- loaded, each as the HGETALL / LRANGE / SMEMBERS reply.

-- a key of another type is refused before the lock is taken (types.lua)
local bad = wrong_type(1, 'string') or wrong_type(2, 'hash') or wrong_type(3, 'zset')
for k = 4, #KEYS do bad = bad or wrong_type(k, kind_type(ARGV[k + 1])) end
if bad then return bad end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return {2}
end
local out = read_doc({1}, 2, 4, #KEYS, 5)
local whole = #out[2] > 0 -- out[1] is the reply's marker
for i = 2, #out do if type(out[i]) == 'table' and out[i].ok then whole = false end end
if whole and ARGV[4] ~= '0' then
  refresh_when_due(2, #KEYS, 3, ARGV[3], ARGV[4])
end
return out
