-- The server's clock, prepended to the scripts that use it (scripts/mod.rs). Every
-- helper prepended to a script is defined anew on each call, so each script gets only
-- the files it calls into.

-- The server's clock in milliseconds (expiry times in the id index use it).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
