-- Runs a query on one shard: evaluates the whole expression on the shard's indexes,
-- keeps live documents only, sorts, and cuts to what the page needs. The only writes:
-- entries of documents that expired are dropped as the query meets them (idempotent).
--
-- KEYS[1]   the shard's id index (score = expiry time)   KEYS[2]  its index manifest
-- KEYS[3..] its index keys used
-- ARGV[1]   "ids" | "count"
-- ARGV[2]   order: "" (by id), or "n<k>" / "s<k>" (numeric / string index KEYS[k])
-- ARGV[3]   "asc" | "desc"
-- ARGV[4]   how many ids this shard must return at most ("-1": all)
-- ARGV[5]   the model's index fingerprint: a shard with documents whose manifest differs
--           answers "RAPYER_STALE" (its indexes need a reindex)
-- ARGV[6..] the expression in prefix form:
--   "all"                          every live document
--   "and" n e1..en / "or" n e1..en / "not" e
--   "n" k min max                  numeric index KEYS[k], ZRANGEBYSCORE bounds
--   "s" k op v [w]                 string index KEYS[k]; op: eq, prefix, gt, ge, lt, le,
--                                  between (v..=w)
-- Reply: count, or a flat list id1, key1, id2, key2, ... (key: the sort value as text).

local function bytes_cmp(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 else return 1 end
    end
  end
  if #a == #b then return 0 end
  if #a < #b then return -1 else return 1 end
end

if redis.call('ZCARD', KEYS[1]) > 0 and redis.call('HGET', KEYS[2], 'indexes') ~= ARGV[5] then
  return redis.error_reply('RAPYER_STALE ' .. KEYS[2] .. ' ' .. (redis.call('HGET', KEYS[2], 'indexes') or ''))
end

local pos = 6
local function next_arg()
  local v = ARGV[pos]
  pos = pos + 1
  return v
end

-- ids of expired documents leave the id index now; index entries of ids that are not
-- live any more leave their index when a leaf meets them
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now_ms())
-- liveness of one id: a ZSCORE per candidate, remembered (no full scan)
local live_memo = {}
local function is_live(id)
  local known = live_memo[id]
  if known == nil then
    known = redis.call('ZSCORE', KEYS[1], id) ~= false
    live_memo[id] = known
  end
  return known
end

-- every live id: only for "all" and "not"
local live_cache = nil
local function live()
  if not live_cache then
    live_cache = {}
    for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      live_cache[id] = true
    end
  end
  return live_cache
end

local function lex_leaf(key, op, v, w)
  local lo, hi = '-', '+'
  if op == 'eq' then
    lo, hi = '[' .. v .. '\0', '(' .. v .. '\1'
  elseif op == 'prefix' or op == 'gt' or op == 'ge' then
    lo = '[' .. v
  elseif op == 'lt' or op == 'le' then
    hi = '(' .. v .. '\1'
  elseif op == 'between' then
    lo, hi = '[' .. v, '(' .. w .. '\1'
  end
  local out = {}
  for _, member in ipairs(redis.call('ZRANGEBYLEX', key, lo, hi)) do
    local value, id = lex_split(member)
    if not is_live(id) then redis.call('ZREM', key, member) end
    local keep
    if op == 'eq' then keep = value == v
    elseif op == 'prefix' then keep = string.sub(value, 1, #v) == v
    elseif op == 'gt' then keep = bytes_cmp(value, v) > 0
    elseif op == 'ge' then keep = bytes_cmp(value, v) >= 0
    elseif op == 'lt' then keep = bytes_cmp(value, v) < 0
    elseif op == 'le' then keep = bytes_cmp(value, v) <= 0
    else keep = bytes_cmp(value, v) >= 0 and bytes_cmp(value, w) <= 0 end
    if keep then out[id] = true end
  end
  return out
end

local function eval()
  local t = next_arg()
  if t == 'all' then
    local out = {}
    for id in pairs(live()) do out[id] = true end
    return out
  elseif t == 'and' or t == 'or' then
    local n = tonumber(next_arg())
    local acc = nil
    for _ = 1, n do
      local s = eval()
      if acc == nil then
        acc = s
      elseif t == 'and' then
        for id in pairs(acc) do
          if not s[id] then acc[id] = nil end
        end
      else
        for id in pairs(s) do acc[id] = true end
      end
    end
    return acc or {}
  elseif t == 'not' then
    local s = eval()
    local out = {}
    for id in pairs(live()) do
      if not s[id] then out[id] = true end
    end
    return out
  elseif t == 'n' then
    local key = KEYS[tonumber(next_arg())]
    local min, max = next_arg(), next_arg()
    local out = {}
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, min, max)) do
      if is_live(id) then out[id] = true else redis.call('ZREM', key, id) end
    end
    return out
  else
    local key = KEYS[tonumber(next_arg())]
    local op, v = next_arg(), next_arg()
    local w = nil
    if op == 'between' then w = next_arg() end
    return lex_leaf(key, op, v, w)
  end
end

local found = eval()
local ids = {}
for id in pairs(found) do
  if is_live(id) then ids[#ids + 1] = id end
end
if ARGV[1] == 'count' then return #ids end

-- sort keys: the index value (numeric score or string) or the id
local order, desc = ARGV[2], ARGV[3] == 'desc'
local keys = {}
if order == '' then
  for _, id in ipairs(ids) do keys[id] = id end
elseif string.sub(order, 1, 1) == 'n' then
  local key = KEYS[tonumber(string.sub(order, 2))]
  for _, id in ipairs(ids) do keys[id] = tonumber(redis.call('ZSCORE', key, id) or '-inf') end
else
  local key = KEYS[tonumber(string.sub(order, 2))]
  local wanted = {}
  for _, id in ipairs(ids) do wanted[id] = true end
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local value, id = lex_split(member)
    if wanted[id] then keys[id] = value end
  end
  for _, id in ipairs(ids) do
    if keys[id] == nil then keys[id] = '' end
  end
end
local numeric = string.sub(order, 1, 1) == 'n'
table.sort(ids, function(a, b)
  local ka, kb = keys[a], keys[b]
  local c
  if numeric then
    if ka == kb then c = 0 elseif ka < kb then c = -1 else c = 1 end
  else
    c = bytes_cmp(ka, kb)
  end
  if c == 0 then c = bytes_cmp(a, b) end
  if desc then return c > 0 else return c < 0 end
end)
local cut = tonumber(ARGV[4])
local out = {}
for i, id in ipairs(ids) do
  if cut >= 0 and i > cut then break end
  out[#out + 1] = id
  local k = keys[id]
  if numeric then
    if k == math.huge then k = 'inf' elseif k == -math.huge then k = '-inf' else k = string.format('%.17g', k) end
  end
  out[#out + 1] = k
end
return out
