-- Helpers shared by every rapyer script: prepended to each one (scripts/mod.rs).

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

-- Appends a document's content to `out`: HGETALL of KEYS[root], then each collection
-- KEYS[first..last] read by its kind letter ARGV[kinds], ARGV[kinds + 1], ... ("l" list,
-- "h" hash, "s" set).
local function read_doc(out, root, first, last, kinds)
  out[#out + 1] = redis.call('HGETALL', KEYS[root])
  for k = first, last do
    local kind = ARGV[kinds + k - first]
    if kind == 'l' then
      out[#out + 1] = redis.call('LRANGE', KEYS[k], 0, -1)
    elseif kind == 'h' then
      out[#out + 1] = redis.call('HGETALL', KEYS[k])
    else
      out[#out + 1] = redis.call('SMEMBERS', KEYS[k])
    end
  end
  return out
end

