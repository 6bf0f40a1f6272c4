-- A keyed rate limiter's call (kinds/ratelimit.rs), after ratelimit.lua. KEYS[1]: the
-- key's state; ARGV: the mode ("c": check, "r": reset), the Redis type it keeps, then
-- for a check the limiter's kind, three parameters and the cost. Replies: the decision,
-- {'reset', removed}, {'wrongtype', found} (nothing written) or {'rejected', reason}.
local key = KEYS[1]
local found = redis.call('TYPE', key).ok
if found ~= 'none' and found ~= ARGV[2] then return {'wrongtype', found} end
if ARGV[1] == 'r' then return {'reset', redis.call('DEL', key)} end
local ok, d = pcall(rl_decide, key, ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]), tonumber(ARGV[7]))
if not ok then
  if type(d) == 'table' and d.rapyer then return {'rejected', d.rapyer} end
  error(d)
end
-- a limiter back to full needs no key: the state expires when it would be full again
if d[4] > 0 then
  redis.call('PEXPIRE', key, math.ceil(d[4] / 1000))
else
  redis.call('DEL', key)
end
return d
