-- The server's clock and TTL refresh, prepended to the scripts that use them
-- (scripts/mod.rs). Every helper prepended to a script is defined anew on each call,
-- so each script gets only the files it calls into.

-- The server's clock in milliseconds (expiry times in the id index use it).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Pushes a document's TTL back to `ms`: PEXPIRE on KEYS[first..last] (its keys) except
-- KEYS[ids_at] (its shard's id index), whose entry for `id` gets the new expiry time.
local function refresh_ttl(first, last, ids_at, id, ms)
  for k = first, last do
    if k ~= ids_at then redis.call('PEXPIRE', KEYS[k], ms) end
  end
  redis.call('ZADD', KEYS[ids_at], 'XX', now_ms() + ms, id)
end
