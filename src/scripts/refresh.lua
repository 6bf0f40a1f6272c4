-- TTL refresh on use, prepended after clock.lua (scripts/mod.rs).

-- Pushes a document's TTL back to `ms`: PEXPIRE on KEYS[first..last] (its keys) except
-- KEYS[ids_at] (its shard's id index), whose entry for `id` gets the new expiry time.
local function refresh_ttl(first, last, ids_at, id, ms)
  for k = first, last do
    if k ~= ids_at then redis.call('PEXPIRE', KEYS[k], ms) end
  end
  redis.call('ZADD', KEYS[ids_at], 'XX', now_ms() + ms, id)
end

-- A refresh spec as the client sends it: "<ttl ms>" or "<ttl ms>:<interval ms>:<grace
-- ms>" (0: not set). Returns ttl, interval, grace.
local function refresh_spec(text)
  local ms, interval, grace = string.match(text, '^(%d+):(%d+):(%d+)$')
  if ms then return tonumber(ms), tonumber(interval), tonumber(grace) end
  return tonumber(text), 0, 0
end

-- Whether the refresh of the document whose root hash is KEYS[root] is due, from its
-- PTTL alone: always without interval and grace; with them, when at least `interval` ms
-- have passed since the last refresh (it set the TTL to `ms`: ms - PTTL have passed) or
-- fewer than `grace` ms are left, either one. A document without a TTL gets it back.
local function refresh_due(root, ms, interval, grace)
  if interval == 0 and grace == 0 then return true end
  local left = redis.call('PTTL', KEYS[root])
  if left < 0 then return true end
  if interval > 0 and ms - left >= interval then return true end
  return grace > 0 and left < grace
end

-- refresh_ttl for the spec `text` when it is due (KEYS[first] is the root hash).
-- Returns whether it refreshed.
local function refresh_when_due(first, last, ids_at, id, text)
  local ms, interval, grace = refresh_spec(text)
  if ms <= 0 or not refresh_due(first, ms, interval, grace) then return false end
  refresh_ttl(first, last, ids_at, id, ms)
  return true
end
