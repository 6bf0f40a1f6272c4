-- Conditions of conditional pipelines (exec/cond.rs), after exec_head.lua (it reads the
-- plan's documents): a `when` op evaluates one on the values stored when it runs, and a
-- `guard` op lets the op after it run only when earlier `when`s came out as it says.
--
-- A condition is a prefix token list: "&" n c1..cn | "|" n c1..cn | "!" c |
-- "e" d (document d exists) | "f" d field kind op n v1..vn (root field of document d) |
-- "g" d field kind op d2 field2 (root field of d against root field of d2; either one
-- missing satisfies only `ne`) | "m" d k value (document d's list or set number k
-- holds value) |
-- "l" d k op n v1..vn (the length of document d's key number k: LLEN, HLEN, SCARD,
-- ZCARD or STRLEN by its type; kind "n"). kind: "n" numbers (integers compared exactly
-- at any size), "s" bytes. op: eq ne gt ge lt le bw (between, inclusive) in sw (starts
-- with) ct (contains) ex (stored) nx (not stored). A missing field satisfies only `ne`
-- and `nx`; a missing key's length is 0.

-- "c" spec kind op n v1..vn (a value computed in the program: spec "e" the loop's
-- element, "k" its map key, "r<op>:<part>" / "R<op>:<part>:<default>" an op's result,
-- exec/context.rs) | "p" d k type sel enc nsteps s1..sn kind op n v1..vn (the value at a
-- path of document d: its key number k, "hash"/"list", the field, index or map key; enc
-- "t" the container itself, "m" msgpack steps inside it, constants msgpack too) |
-- "w" enc nsteps s1..sn kind op n v1..vn (a path inside the loop's element) |
-- "q" kind op loc1 loc2 (the values at two such locations, "p …"/"w …" without their
-- kind op n vs).

-- LOOP (exec_head.lua): the element a loop of the plan is at (exec.lua sets it): its
-- value as last seen (elem), its map key (key), its list position (pos); CTX.results:
-- the plan's results so far

-- a value computed earlier in the program (nil: absent)
local function ctx_value(spec)
  local t = string.sub(spec, 1, 1)
  if t == 'e' then return LOOP.elem end
  if t == 'k' then return LOOP.key end
  if t == 'p' then return LOOP.pos and tostring(LOOP.pos) end
  local n, part, rest = string.match(spec, '^[rR](%d+):(%d+)(.*)$')
  if not n then reject('condition: unknown value ' .. spec) end
  local r = CTX.results[tonumber(n) + 2]
  part = tonumber(part)
  if part > 0 then
    if type(r) == 'table' then r = r[part] else r = nil end
  end
  if type(r) == 'number' then r = string.format('%d', r) end
  if type(r) ~= 'string' then r = nil end
  if r == nil and t == 'R' then r = string.sub(rest, 2) end
  return r
end

-- -1, 0, 1: a < b, a == b, a > b for numbers in text; integers exactly
local function cond_num_cmp(a, b)
  local ia, ib = string.match(a, '^-?%d+$'), string.match(b, '^-?%d+$')
  if ia and ib then
    local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
    if na ~= nb then return na and -1 or 1 end
    local da, db = string.gsub(a, '^-?0*', ''), string.gsub(b, '^-?0*', '')
    local c = 0
    if #da ~= #db then c = (#da < #db) and -1 or 1
    elseif da ~= db then c = (da < db) and -1 or 1 end
    if na then c = -c end
    return c
  end
  local x, y = tonumber(a), tonumber(b)
  if x == nil or x ~= x then reject('condition: stored ' .. a .. ' is not a number') end
  if y == nil or y ~= y then reject('condition: ' .. b .. ' is not a number') end
  if x < y then return -1 elseif x > y then return 1 end
  return 0
end

local function cond_cmp(kind, a, b)
  if kind == 'n' then return cond_num_cmp(a, b) end
  if a < b then return -1 elseif a > b then return 1 end
  return 0
end

-- whether stored value `v` (nil: missing) passes op with constants vs
local function cond_test(v, kind, op, vs)
  if op == 'ex' then return v ~= nil and v ~= false end
  if op == 'nx' then return v == nil or v == false end
  if v == nil or v == false then return op == 'ne' end
  if op == 'eq' then return cond_cmp(kind, v, vs[1]) == 0 end
  if op == 'ne' then return cond_cmp(kind, v, vs[1]) ~= 0 end
  if op == 'gt' then return cond_cmp(kind, v, vs[1]) > 0 end
  if op == 'ge' then return cond_cmp(kind, v, vs[1]) >= 0 end
  if op == 'lt' then return cond_cmp(kind, v, vs[1]) < 0 end
  if op == 'le' then return cond_cmp(kind, v, vs[1]) <= 0 end
  if op == 'bw' then return cond_cmp(kind, v, vs[1]) >= 0 and cond_cmp(kind, v, vs[2]) <= 0 end
  if op == 'in' then
    for _, c in ipairs(vs) do if cond_cmp(kind, v, c) == 0 then return true end end
    return false
  end
  if op == 'sw' then return string.sub(v, 1, #vs[1]) == vs[1] end
  if op == 'ct' then return string.find(v, vs[1], 1, true) ~= nil end
  reject('condition: unknown comparison ' .. tostring(op))
end

-- the location from a[i] on ("p" d k type sel | "w", then enc nsteps s1..sn): the
-- container bytes (nil: absent), where the path's value starts in them (nil: absent),
-- the enc, and the index after it
local function loc_find(a, i)
  local c
  if a[i] == 'w' then
    c, i = LOOP.elem, i + 1
  else
    local doc = docs[tonumber(a[i + 1])]
    local key, sel = KEYS[doc.base + tonumber(a[i + 2])], a[i + 4]
    local ty = redis.call('TYPE', key)['ok']
    if a[i + 3] == 'list' then
      if ty == 'list' then c = redis.call('LINDEX', key, sel) end
    elseif ty == 'hash' then
      c = redis.call('HGET', key, sel)
    end
    i = i + 5
  end
  local enc, ns = a[i], tonumber(a[i + 1])
  local steps = {}
  for j = 1, ns do steps[j] = a[i + 1 + j] end
  i = i + 2 + ns
  if not c then return nil, nil, enc, i end
  if enc ~= 'm' then return c, 1, enc, i end
  return c, mp_find(c, steps, 1), enc, i
end

-- the text a condition compares of a located value (nil: absent)
local function loc_text(c, s, enc)
  if not s then return nil end
  if enc == 'm' then return mp_text(c, s) end
  return c
end

-- a path condition from a[i] on (a location, then kind op n v1..vn): its result and the
-- index after it
local function cond_path(a, i)
  local c, s, enc
  c, s, enc, i = loc_find(a, i)
  local kind, op, n = a[i], a[i + 1], tonumber(a[i + 2])
  local vs = {}
  for j = 1, n do vs[j] = a[i + 2 + j] end
  local after = i + 3 + n
  if op == 'ex' or op == 'nx' then return cond_test(s and '1' or nil, kind, op, vs), after end
  if enc == 'm' then
    for j = 1, n do vs[j] = mp_text(vs[j], 1) end
  end
  return cond_test(loc_text(c, s, enc), kind, op, vs), after
end

local COND_LEN = {list = 'LLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', string = 'STRLEN'}

-- the condition starting at a[i]: its value and the index after it
local function cond_eval(a, i)
  local t = a[i]
  if t == '&' or t == '|' then
    local n, all, any = tonumber(a[i + 1]), true, false
    i = i + 2
    for _ = 1, n do
      local v
      v, i = cond_eval(a, i)
      all, any = all and v, any or v
    end
    if t == '&' then return all, i end
    return any, i
  end
  if t == '!' then
    local v
    v, i = cond_eval(a, i + 1)
    return not v, i
  end
  if t == 'c' then
    local kind, op, n = a[i + 2], a[i + 3], tonumber(a[i + 4])
    local vs = {}
    for j = 1, n do vs[j] = a[i + 4 + j] end
    return cond_test(ctx_value(a[i + 1]), kind, op, vs), i + 5 + n
  end
  if t == 'w' or t == 'p' then return cond_path(a, i) end
  if t == 'q' then
    -- path against path: "q" kind op location location (either absent: only `ne`)
    local c1, s1, e1, c2, s2, e2, j
    c1, s1, e1, j = loc_find(a, i + 3)
    c2, s2, e2, j = loc_find(a, j)
    local w = loc_text(c2, s2, e2)
    if w == nil then return a[i + 2] == 'ne', j end
    return cond_test(loc_text(c1, s1, e1), a[i + 1], a[i + 2], {w}), j
  end
  local doc = docs[tonumber(a[i + 1])]
  if t == 'e' then return redis.call('EXISTS', KEYS[doc.base + 1]) == 1, i + 2 end
  local stored, kind, op, n
  if t == 'm' then
    -- membership: "m" d k value (a list or a set; a missing key holds nothing)
    local key = KEYS[doc.base + tonumber(a[i + 2])]
    local ty = redis.call('TYPE', key)['ok']
    local found = false
    if ty == 'set' then
      found = redis.call('SISMEMBER', key, a[i + 3]) == 1
    elseif ty == 'list' then
      found = redis.call('LPOS', key, a[i + 3]) ~= false
    elseif ty ~= 'none' then
      reject('condition: ' .. key .. ' holds a ' .. ty)
    end
    return found, i + 4
  end
  if t == 'g' then
    -- field against field: "g" d field kind op d2 field2
    local other = docs[tonumber(a[i + 5])]
    local v = redis.call('HGET', KEYS[doc.base + 1], a[i + 2])
    local w = redis.call('HGET', KEYS[other.base + 1], a[i + 6])
    if not w then return a[i + 4] == 'ne', i + 7 end
    return cond_test(v, a[i + 3], a[i + 4], {w}), i + 7
  end
  if t == 'f' then
    stored = redis.call('HGET', KEYS[doc.base + 1], a[i + 2])
    kind, op, n = a[i + 3], a[i + 4], tonumber(a[i + 5])
    i = i + 6
  elseif t == 'l' then
    local key = KEYS[doc.base + tonumber(a[i + 2])]
    local ty = redis.call('TYPE', key)['ok']
    stored = '0'
    if ty ~= 'none' then
      if not COND_LEN[ty] then reject('condition: ' .. key .. ' holds a ' .. ty) end
      stored = tostring(redis.call(COND_LEN[ty], key))
    end
    kind, op, n = 'n', a[i + 3], tonumber(a[i + 4])
    i = i + 5
  else
    reject('condition: unknown token ' .. tostring(t))
  end
  local vs = {}
  for j = 1, n do vs[j] = a[i + j - 1] end
  return cond_test(stored, kind, op, vs), i + n
end

-- whether the guard's `when`s (their op numbers and the outcome each needs) hold, given
-- the results so far (a `when` that did not run holds neither outcome)
local function guard_holds(a, results)
  for g = 1, #a, 2 do
    local r = results[tonumber(a[g]) + 2]
    local want = (a[g + 1] == '1') and 1 or 0
    if r ~= want then return false end
  end
  return true
end
