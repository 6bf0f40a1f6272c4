-- RateLimiter's executor op (kinds/ratelimit.rs), after ratelimit.lua: args[1] the key's
-- type, then the limiter's kind, its three parameters and the call's cost.
OP_TYPES.rl_check = 'arg'
OPS.rl_check = function(key, _, a)
  return rl_decide(key, a[2], tonumber(a[3]), tonumber(a[4]), tonumber(a[5]), tonumber(a[6]))
end
