-- Releases a lock only for the holder that took it (compare-and-delete by token), so a
-- holder whose lease ran out cannot release the lock someone else holds now.
--
-- KEYS[1]  the lock key   ARGV[1]  the holder's token
-- Reply: 1 released, 0 not held by this token (expired, or taken by another holder).

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
