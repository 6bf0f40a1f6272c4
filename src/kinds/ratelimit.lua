-- RateLimiter decisions (kinds/ratelimit.rs), on the server's clock: prepended to the
-- executor (ratelimit_op.lua registers the op) and to the keyed limiter's script
-- (limit.lua). Every quantity is an integer kept below 2^53 (the Rust side refuses
-- configurations that could leave it), so Lua's doubles hold it exactly; times are
-- microseconds. Each decision returns {allowed (1/0), remaining, retry_after_us,
-- reset_after_us}.

-- the server's clock in microseconds
local function rl_now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function rl_fmt(n) return string.format('%d', n) end

-- ⌊a / b⌋ and ⌈a / b⌉ of non-negative integers, exact where the double quotient is not
local function rl_floor(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function rl_ceil(a, b)
  local q = rl_floor(a, b)
  if q * b < a then q = q + 1 end
  return q
end

-- a stored integer field, or nil when absent; anything else is refused (nothing of this
-- call is applied)
local function rl_int(v, key, what)
  if v == false or v == nil then return nil end
  local n = tonumber(v)
  if n == nil or n ~= math.floor(n) or n < 0 then
    error({rapyer = 'rate limiter ' .. key .. ': stored ' .. what .. ' ' .. tostring(v) .. ' is not a count'})
  end
  return n
end

-- Token bucket: `burst` tokens, `rate` more every `per` µs. The hash holds `t`, the
-- tokens scaled by `s` = `per` (so a refill of `rate` per µs is an integer), and `at`,
-- when they were counted. A missing key is a full bucket; a bucket counted in another
-- scale (its `per` changed) keeps its whole tokens.
local function rl_bucket(key, rate, per, burst, cost, now)
  local cap = burst * per
  local st = redis.call('HMGET', key, 't', 'at', 's')
  local tokens, at = rl_int(st[1], key, 'tokens'), rl_int(st[2], key, 'time')
  local scale = rl_int(st[3], key, 'scale') or per
  local avail = cap
  if tokens and at then
    if scale ~= per and scale > 0 then tokens = rl_floor(tokens, scale) * per end
    if tokens > cap then tokens = cap end
    -- a clock that went back refills nothing (and `at` keeps the later time)
    local elapsed = math.max(now - at, 0)
    if elapsed < rl_ceil(cap - tokens, rate) then avail = tokens + elapsed * rate end
    now = math.max(now, at)
  end
  local need = cost * per
  local allowed = avail >= need
  if allowed and cost > 0 then
    avail = avail - need
    redis.call('HSET', key, 't', rl_fmt(avail), 'at', rl_fmt(now), 's', rl_fmt(per))
  end
  local retry = 0
  if not allowed then retry = rl_ceil(need - avail, rate) end
  return {allowed and 1 or 0, rl_floor(avail, per), retry, rl_ceil(cap - avail, rate)}
end

-- Sliding window, exact: one member per call in the last `win` µs, scored by its time
-- (`<time>:<sequence>`, unique even within one microsecond).
local function rl_window(key, limit, win, cost, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', rl_fmt(now - win))
  local count = redis.call('ZCARD', key)
  local allowed = count + cost <= limit
  if allowed and cost > 0 then
    local seq = 0
    local last = redis.call('ZRANGE', key, -1, -1)[1]
    if last then seq = (tonumber(string.match(last, ':(%d+)$')) or 0) + 1 end
    for i = 0, cost - 1 do
      redis.call('ZADD', key, rl_fmt(now), rl_fmt(now) .. ':' .. rl_fmt(seq + i))
    end
    count = count + cost
  end
  local retry, reset = 0, 0
  if not allowed then
    -- the call fits once the (count + cost − limit)-th oldest entry has left the window
    local e = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
    retry = math.max(tonumber(e[2]) + win - now, 1)
  end
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if newest[2] then reset = math.max(tonumber(newest[2]) + win - now, 0) end
  return {allowed and 1 or 0, math.max(limit - count, 0), retry, reset}
end

-- Sliding window, approximate: the counts of this fixed window (`c`, number `w`, of
-- length `d` µs) and of the one before (`p`), the earlier one weighted by how much of it
-- the sliding window still covers: estimate·win = p·(win − e) + c·win at `e` µs into
-- window `w`. Counts kept for another window length start afresh.
local function rl_approx(key, limit, win, cost, now)
  local st = redis.call('HMGET', key, 'w', 'c', 'p', 'd')
  local w = rl_int(st[1], key, 'window')
  local c, p = rl_int(st[2], key, 'count') or 0, rl_int(st[3], key, 'count') or 0
  local cur = math.floor(now / win)
  if w == nil or rl_int(st[4], key, 'window length') ~= win then w, c, p = nil, 0, 0
  elseif w > cur then cur = w           -- the clock went back: stay in the stored window
  elseif w == cur - 1 then c, p = 0, c
  elseif w < cur - 1 then c, p = 0, 0 end
  local e = math.min(math.max(now - cur * win, 0), win - 1)
  local est = p * (win - e) + c * win
  local allowed = est + cost * win <= limit * win
  if allowed and cost > 0 then
    c = c + cost
    est = est + cost * win
    redis.call('HSET', key, 'w', rl_fmt(cur), 'c', rl_fmt(c), 'p', rl_fmt(p), 'd', rl_fmt(win))
  end
  local retry = 0
  if not allowed then
    local t = win - e
    if c + cost <= limit and p > 0 then
      -- within this window, once the earlier window's weight has dropped enough
      t = math.min(rl_ceil(p * (win - e) + (c + cost - limit) * win, p), win - e)
    end
    if t >= win - e then
      -- in the next window: this window's count is the earlier one then
      local over = (c + cost - limit) * win
      t = win - e
      if over > 0 then t = t + rl_ceil(over, c) end
    end
    retry = math.max(t, 1)
  end
  local reset = 0
  if c > 0 then reset = win - e + win elseif p > 0 then reset = win - e end
  local left = limit * win - est
  if left < 0 then left = 0 end
  return {allowed and 1 or 0, rl_floor(left, win), retry, reset}
end

-- the decision of limiter `kind` ("b": bucket, "w": exact window, "a": approximate)
-- with parameters x, y, z (bucket: rate, per µs, burst; windows: limit, window µs)
local function rl_decide(key, kind, x, y, z, cost)
  local now = rl_now_us()
  if kind == 'b' then return rl_bucket(key, x, y, z, cost, now) end
  if kind == 'w' then return rl_window(key, x, y, cost, now) end
  return rl_approx(key, x, y, cost, now)
end
