-- Lists or counts the live ids of one shard, dropping ids whose document expired.
--
-- KEYS[1]  id index of the shard (score = expiry time in ms, +inf without a TTL)
-- ARGV[1]  "ids" | "count"
--
-- Idempotent, so a pipeline of these may be replayed after NOSCRIPT.

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now_ms())
if ARGV[1] == 'count' then
  return redis.call('ZCARD', KEYS[1])
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
