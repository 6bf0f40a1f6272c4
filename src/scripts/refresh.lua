-- TTL refresh on use, prepended after clock.lua (scripts/mod.rs).

-- Pushes a document's TTL back to `ms`: PEXPIRE on KEYS[first..last] (its keys) except
-- KEYS[ids_at] (its shard's id index), whose entry for `id` gets the new expiry time.
local function refresh_ttl(first, last, ids_at, id, ms)
  for k = first, last do
    if k ~= ids_at then redis.call('PEXPIRE', KEYS[k], ms) end
  end
  redis.call('ZADD', KEYS[ids_at], 'XX', now_ms() + ms, id)
end
