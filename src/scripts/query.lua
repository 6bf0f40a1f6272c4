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

-- Splits a string index member (index.lua's lex_member) into value and id.
local function lex_split(member)
  local len_at = string.find(member, '%z[0-9]+$')
  local idlen = tonumber(string.sub(member, len_at + 1))
  local id = string.sub(member, len_at - idlen, len_at - 1)
  local value = string.gsub(string.sub(member, 1, len_at - idlen - 3), '%z\1', '\0')
  return value, id
end

-- A value as it starts its index members (index.lua's lex_member, NULs escaped).
local function lex_prefix(v)
  return (string.gsub(v, '%z', '\0\1'))
end

-- Bytewise comparison (Lua's `<` follows the server's locale). The common prefix is
-- found by halving with string equality, which compares bytes.
local function bytes_cmp(a, b)
  if a == b then return 0 end
  local lo, hi = 0, math.min(#a, #b)
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if string.sub(a, 1, mid) == string.sub(b, 1, mid) then lo = mid else hi = mid - 1 end
  end
  local x, y = string.byte(a, lo + 1), string.byte(b, lo + 1)
  if x == nil then return -1 end
  if y == nil then return 1 end
  if x < y then return -1 else return 1 end
end

-- a key of another Redis type refuses the query before it drops anything (types.lua)
do
  local bad = wrong_type(1, 'zset') or wrong_type(2, 'hash')
  for k = 3, #KEYS do bad = bad or wrong_type(k, 'zset') end
  if bad then return bad end
end

-- (a model without indexes writes no manifest: absent reads as the empty fingerprint)
local manifest = redis.call('HGET', KEYS[2], 'indexes') or ''
if manifest ~= ARGV[5] and redis.call('ZCARD', KEYS[1]) > 0 then
  return redis.error_reply('RAPYER_STALE ' .. KEYS[2] .. ' ' .. manifest)
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

-- index keys the leaves read, to drop the entries of dead ids the query meets
local numeric_seen, lex_seen = {}, {}

local function lex_leaf(key, op, v, w)
  -- bounds on members: every member of value v lies in [esc(v)\0\0, esc(v)\0\1)
  local lo, hi = '-', '+'
  if op == 'eq' then
    lo, hi = '[' .. lex_prefix(v) .. '\0\0', '(' .. lex_prefix(v) .. '\0\1'
  elseif op == 'prefix' or op == 'gt' or op == 'ge' then
    lo = '[' .. lex_prefix(v)
  elseif op == 'lt' or op == 'le' then
    hi = '(' .. lex_prefix(v) .. '\0\1'
  elseif op == 'between' then
    lo, hi = '[' .. lex_prefix(v), '(' .. lex_prefix(w) .. '\0\1'
  end
  local out = {}
  local seen = lex_seen[key] or {}
  lex_seen[key] = seen
  for _, member in ipairs(redis.call('ZRANGEBYLEX', key, lo, hi)) do
    local value, id = lex_split(member)
    seen[id] = member
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

-- The expression as a tree: {t = 'all' | 'and' | 'or' | 'not' | 'n' | 's', ...}.
local function parse()
  local t = next_arg()
  if t == 'and' or t == 'or' then
    local node = {t = t, kids = {}}
    for k = 1, tonumber(next_arg()) do node.kids[k] = parse() end
    return node
  elseif t == 'not' then
    return {t = t, kid = parse()}
  elseif t == 'n' then
    return {t = t, key = KEYS[tonumber(next_arg())], min = next_arg(), max = next_arg()}
  elseif t == 's' then
    local node = {t = t, key = KEYS[tonumber(next_arg())], op = next_arg(), v = next_arg()}
    if node.op == 'between' then node.w = next_arg() end
    return node
  end
  return {t = 'all'}
end

-- The numeric bound text of ZRANGEBYSCORE as a test on a score.
local function bound_ok(score, bound, lower)
  if bound == '-inf' then return true end
  if bound == '+inf' then return true end
  local exclusive = string.sub(bound, 1, 1) == '('
  local b = tonumber(exclusive and string.sub(bound, 2) or bound)
  if lower then
    if exclusive then return score > b else return score >= b end
  end
  if exclusive then return score < b else return score <= b end
end

local eval

-- "and": the most selective part first. Each part is sized (numeric ranges with ZCOUNT,
-- string equality with ZLEXCOUNT; other parts count as large); the smallest
-- seeds the candidates; after that a numeric range larger than the candidate set is
-- checked per candidate (ZSCORE) instead of scanned, the rest are intersected.
local function eval_and(node)
  local kids = {}
  for k, kid in ipairs(node.kids) do
    if kid.t == 'n' then
      kid.size = redis.call('ZCOUNT', kid.key, kid.min, kid.max)
    elseif kid.t == 's' and kid.op == 'eq' then
      kid.size = redis.call('ZLEXCOUNT', kid.key, '[' .. lex_prefix(kid.v) .. '\0\0', '(' .. lex_prefix(kid.v) .. '\0\1')
    else
      kid.size = math.huge
    end
    kid.order = k
    kids[k] = kid
  end
  table.sort(kids, function(a, b)
    if a.size == b.size then return a.order < b.order end
    return a.size < b.size
  end)
  if kids[1].size == 0 then return {} end
  local acc = eval(kids[1])
  local count = 0
  for _ in pairs(acc) do count = count + 1 end
  for k = 2, #kids do
    local kid = kids[k]
    if count == 0 then return acc end
    if kid.t == 'n' and count < kid.size then
      numeric_seen[kid.key] = true
      for id in pairs(acc) do
        local sc = redis.call('ZSCORE', kid.key, id)
        local score = sc and tonumber(sc)
        if not (score and bound_ok(score, kid.min, true) and bound_ok(score, kid.max, false)) then
          acc[id] = nil
          count = count - 1
        end
      end
    else
      local s = eval(kid)
      for id in pairs(acc) do
        if not s[id] then
          acc[id] = nil
          count = count - 1
        end
      end
    end
  end
  return acc
end

eval = function(node)
  if node.t == 'all' then
    local out = {}
    for id in pairs(live()) do out[id] = true end
    return out
  elseif node.t == 'and' then
    return eval_and(node)
  elseif node.t == 'or' then
    local acc = {}
    for _, kid in ipairs(node.kids) do
      for id in pairs(eval(kid)) do acc[id] = true end
    end
    return acc
  elseif node.t == 'not' then
    local s = eval(node.kid)
    local out = {}
    for id in pairs(live()) do
      if not s[id] then out[id] = true end
    end
    return out
  elseif node.t == 'n' then
    numeric_seen[node.key] = true
    local out = {}
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', node.key, node.min, node.max)) do out[id] = true end
    return out
  end
  return lex_leaf(node.key, node.op, node.v, node.w)
end

local found = eval(parse())
local ids = {}
for id in pairs(found) do
  if is_live(id) then
    ids[#ids + 1] = id
  else
    -- expired (or deleted since): drop its entries from the indexes this query read
    for key in pairs(numeric_seen) do redis.call('ZREM', key, id) end
    for key, seen in pairs(lex_seen) do
      if seen[id] then redis.call('ZREM', key, seen[id]) end
    end
  end
end
if ARGV[1] == 'count' then return #ids end

local order, desc, cut = ARGV[2], ARGV[3] == 'desc', tonumber(ARGV[4])
local numeric = string.sub(order, 1, 1) == 'n'
local out = {}

-- sort keys travel as "1<value>" ("0": the document has no value: it sorts last)
local function emit(id, key)
  out[#out + 1] = id
  out[#out + 1] = key
end

-- Beyond 2^53 a score stands for several integers (i64::MAX, MAX-1 and MAX-2 share
-- one): such values travel as the exact stored text, read from the document's root hash
-- (same hash tag as KEYS[1]), and the client orders them exactly.
local tag = string.sub(KEYS[1], 1, #KEYS[1] - 4) -- KEYS[1] is "<tag>:ids"
local EXACT = 9007199254740992
local function inexact(score)
  local n = tonumber(score)
  return n and n == n and n ~= math.huge and n ~= -math.huge and (n >= EXACT or n <= -EXACT)
end
local function exact_text(key, id, score)
  if not inexact(score) then return score end
  local path = string.sub(key, #tag + 4) -- key is "<tag>:i:<path>"
  return redis.call('HGET', tag .. ':d:' .. id, path) or score
end

if order ~= '' and cut >= 0 then
  -- walk the order index in order and keep the matches until the page is full: the
  -- index is sorted by (value, id) already, ties included; scores that tie beyond 2^53
  -- at the end of the page all come (exactly valued): the client's sort picks among them
  local key = KEYS[tonumber(string.sub(order, 2))]
  local wanted, left = {}, 0
  for _, id in ipairs(ids) do wanted[id] = true; left = left + 1 end
  local step = math.max(2 * cut, 128)
  local start = 0
  local tie = nil -- the last score of a full page, when it is inexact
  local open = true
  while open and left > 0 do
    local chunk
    if desc then
      chunk = redis.call('ZREVRANGE', key, start, start + step - 1, 'WITHSCORES')
    else
      chunk = redis.call('ZRANGE', key, start, start + step - 1, 'WITHSCORES')
    end
    if #chunk == 0 then break end
    for i = 1, #chunk, 2 do
      local member, score = chunk[i], chunk[i + 1]
      local id, value = member, score
      if not numeric then value, id = lex_split(member) end
      if #out >= 2 * cut and (tie == nil or score ~= tie) then
        open = false
        break
      end
      if wanted[id] then
        wanted[id] = nil
        left = left - 1
        if numeric then value = exact_text(key, id, score) end
        emit(id, '1' .. value)
        if #out >= 2 * cut and tie == nil and numeric and inexact(score) then tie = score end
      end
    end
    start = start + step
  end
  -- documents without a value come last
  if #out < 2 * cut and left > 0 then
    local rest = {}
    for id in pairs(wanted) do rest[#rest + 1] = id end
    table.sort(rest, function(a, b)
      if desc then return bytes_cmp(a, b) > 0 else return bytes_cmp(a, b) < 0 end
    end)
    for _, id in ipairs(rest) do
      if #out >= 2 * cut then break end
      emit(id, '0')
    end
  end
  return out
end

-- no page limit (or order by id): sort every match
local keys = {}
if order == '' then
  for _, id in ipairs(ids) do keys[id] = '1' .. id end
elseif numeric then
  local key = KEYS[tonumber(string.sub(order, 2))]
  for _, id in ipairs(ids) do
    local sc = redis.call('ZSCORE', key, id)
    keys[id] = sc and tonumber(sc) or false
  end
else
  local key = KEYS[tonumber(string.sub(order, 2))]
  local wanted = {}
  for _, id in ipairs(ids) do wanted[id] = true end
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local value, id = lex_split(member)
    if wanted[id] then keys[id] = '1' .. value end
  end
  for _, id in ipairs(ids) do
    if keys[id] == nil then keys[id] = false end
  end
end
table.sort(ids, function(a, b)
  local ka, kb = keys[a], keys[b]
  local c
  if ka == false or kb == false then
    -- no value: last, whatever the direction
    if ka == kb then c = 0 elseif ka == false then return false else return true end
  elseif numeric then
    if ka == kb then c = 0 elseif ka < kb then c = -1 else c = 1 end
  else
    c = bytes_cmp(ka, kb)
  end
  if c == 0 then c = bytes_cmp(a, b) end
  if desc then return c > 0 else return c < 0 end
end)
for i, id in ipairs(ids) do
  if cut >= 0 and i > cut then break end
  local k = keys[id]
  if k == false then
    k = '0'
  elseif numeric then
    if k == math.huge then k = '1inf' elseif k == -math.huge then k = '1-inf'
    else
      k = string.format('%.17g', k)
      k = '1' .. exact_text(KEYS[tonumber(string.sub(order, 2))], id, k)
    end
  end
  emit(id, k)
end
return out
