-- Runs a plan of atomic field operations on one or more documents, all or nothing.
--
-- KEYS: for each document, in order: its root hash, the id index of its shard, every
--       collection key of the document, then its shard's index keys.
-- ARGV[1]  number of documents D; then per document: flags ("i" = if it is missing,
--          skip its ops silently; "" = report it), id, TTL refresh spec (refresh.lua;
--          "0": none; without a refresh that is due, keys the ops create inherit the
--          root's TTL), number of its own KEYS
--          (root, id index, collections), then its index specs (see read_specs)
-- then     number of ops; per op: document number, code, key index within the
--          document's KEYS (1 root, 3.. collections), hash field ("" for collection
--          ops), argument count, arguments...
--
-- Reply: {1, skipped, r1, r2, ...} when applied (skipped: the numbers of the missing
-- documents whose ops were skipped; their results are false); {0, d} when document d
-- is missing (nothing applied). An op that fails raises "RAPYER <op#> <reason>" after
-- every key touched by earlier ops was restored (DUMP/RESTORE undo log), so a failed
-- plan leaves nothing applied. Single-op plans need no undo log: each op checks before
-- it writes.

-- (exec_head.lua, prepended, parses the documents.)
begin_plan()

-- a named structure (flags "c<tag>": its ops write, "r<tag>": they only read;
-- kinds/named.rs) must carry its tag when it exists ({2, d, found} otherwise, before any
-- other check: nothing changed); a missing one its writes create (below)
for d, doc in ipairs(docs) do
  local named = string.sub(doc.flags, 1, 1)
  if named == 'c' or named == 'r' then
    doc.named = true
    local tag = string.sub(doc.flags, 2)
    if redis.call('EXISTS', KEYS[doc.base + 1]) == 1 then
      local found = redis.pcall('HGET', KEYS[doc.base + 1], 'kind')
      if type(found) ~= 'string' then found = '' end
      if found ~= tag then return {2, d, found} end
    elseif named == 'c' then
      doc.create = tag
    end
  end
end

-- every key the plan may write or read for an index, checked before the first write
-- (types.lua; each key's TYPE asked once): a key of another Redis type refuses the whole
-- plan, nothing changed
local found = {}
do
  for _, doc in ipairs(docs) do
    local bad = wrong_type(doc.base + 1, 'hash', found) or wrong_type(doc.base + 2, 'zset', found)
    for _, spec in ipairs(doc.specs) do
      bad = bad or key_type_error(spec.key, 'zset', found)
      if spec.kind == 'l' then
        bad = bad or wrong_type(doc.base + 1 + spec.src, 'list', found)
      elseif spec.kind == 'e' then
        bad = bad or wrong_type(doc.base + 1 + spec.src, 'set', found)
      end
    end
    if bad then return bad end
  end
  local at = pos + 1
  for _ = 1, tonumber(ARGV[pos]) do
    local doc, code, kidx = docs[tonumber(ARGV[at])], ARGV[at + 1], tonumber(ARGV[at + 2])
    local want = op_key_type(code, ARGV[at + 3], ARGV[at + 5])
    if want then
      local bad = wrong_type(doc.base + kidx, want, found)
      if bad then return bad end
    end
    at = at + 5 + tonumber(ARGV[at + 4])
  end
end

-- no orphans: every document must exist before anything is written (a named structure
-- is checked above, and a missing one is read as its absent key); the root's TYPE above
-- says whether it does
local skipped = {}
for d, doc in ipairs(docs) do
  if doc.named then
  elseif found[KEYS[doc.base + 1]] == 'none' then
    if doc.flags ~= 'i' then return {0, d} end
    doc.missing = true
    skipped[#skipped + 1] = d
  end
end

local nops = tonumber(ARGV[pos])
pos = pos + 1
local undo = nil
if nops > 1 then undo = {} end

local function remember(key)
  if undo and undo[key] == nil then
    local dump = redis.call('DUMP', key)
    if dump then undo[key] = {dump, redis.call('PTTL', key)} else undo[key] = false end
  end
end

-- index entries changed by earlier ops, undone in reverse order on failure
local index_undo = {}

local function rollback()
  for i = #index_undo, 1, -1 do
    local u = index_undo[i]
    index_update(u.spec.key, u.spec.kind == 'n', u.id, u.new, u.old)
  end
  if not undo then return end
  for key, saved in pairs(undo) do
    redis.call('DEL', key)
    if saved then
      local ttl = saved[2]
      if ttl < 0 then ttl = 0 end
      redis.call('RESTORE', key, ttl, saved[1])
    end
  end
end

local results = {1, skipped}
CTX.results = results

-- the plan's ops, parsed once (a loop runs its body once per element)
local plan = {}
for i = 1, nops do plan[i] = {next_op()} end

for i = 1, nops do results[i + 2] = false end

-- the arguments of the next op to set to values computed in the program (`bind`:
-- "<arg>=<spec>", cond.lua's ctx_value)
local bind = nil
local MAX_LOOP = 10000

-- runs ops first..last; nil, or the error reply (everything rolled back)
local function run_ops(first, last)
  local guarded = true
  local i = first
  while i <= last do
    local doc, code, key, field, args, kidx = unpack(plan[i])
    if code == 'guard' then
      guarded = guard_holds(args, results)
      results[i + 2] = false
    elseif code == 'bind' then
      bind = args
      results[i + 2] = false
    elseif not guarded then
      guarded, bind = true, nil
      results[i + 2] = false
      if code == 'loop' then i = i + tonumber(args[1]) end
    elseif code == 'when' or code == 'whenp' then
      local ok, res = pcall(cond_eval, args, 1)
      if not ok then
        rollback()
        local reason = type(res) == 'table' and res.rapyer or tostring(res)
        return redis.error_reply('RAPYER ' .. i .. ' ' .. reason)
      end
      results[i + 2] = res and 1 or 0
    elseif code == 'loop' then
      -- over the collection as it is now: a list by position (the loop's own removals
      -- shift the positions after them; its body may not move them otherwise, planned in
      -- exec/mod.rs), a set's members and a map's keys sorted, each skipped when an
      -- earlier iteration removed it; the element re-read when its iteration starts
      local n, items, ty = tonumber(args[1]), {}, 'none'
      if not doc.missing then
        ty = redis.call('TYPE', key)['ok']
        if ty == 'list' then items = redis.call('LRANGE', key, 0, -1)
        elseif ty == 'set' then items = redis.call('SMEMBERS', key); table.sort(items)
        elseif ty == 'hash' then items = redis.call('HKEYS', key); table.sort(items)
        elseif ty ~= 'none' then
          rollback()
          return redis.error_reply('RAPYER ' .. i .. ' a loop needs a list, a set or a map, not a ' .. ty)
        end
      end
      if #items > MAX_LOOP then
        rollback()
        return redis.error_reply('RAPYER ' .. i .. ' a loop over ' .. #items .. ' elements (the limit is ' .. MAX_LOOP .. ')')
      end
      if LOOP.key_name ~= nil then
        rollback()
        return redis.error_reply('RAPYER ' .. i .. ' loops do not nest')
      end
      LOOP.key_name, LOOP.type, LOOP.removed = key, ty, 0
      local visited = 0
      for at, e in ipairs(items) do
        local present = true
        LOOP.gone = false
        if ty == 'list' then
          LOOP.pos = at - 1 - LOOP.removed
          LOOP.elem = redis.call('LINDEX', key, LOOP.pos)
        elseif ty == 'set' then
          LOOP.elem = e
          present = redis.call('SISMEMBER', key, e) == 1
        else
          LOOP.key, LOOP.elem = e, redis.call('HGET', key, e)
          present = LOOP.elem ~= false
        end
        if present then
          visited = visited + 1
          local err = run_ops(i + 1, i + n)
          if err then return err end
        end
      end
      LOOP.key_name, LOOP.elem, LOOP.key, LOOP.pos = nil, nil, nil, nil
      results[i + 2] = visited
      i = i + n
    elseif doc.missing then
      results[i + 2] = false
      bind = nil
    else
      -- values computed in the program; an absent one skips the op
      local positional, absent = false, false
      if bind then
        local a = {}
        for j, v in ipairs(args) do a[j] = v end
        for _, b in ipairs(bind) do
          local at, spec = string.match(b, '^(%d+)=(.*)$')
          local v = ctx_value(spec)
          if v == nil then absent = true end
          if spec == 'p' or spec == 'k' then positional = true end
          a[tonumber(at)] = v
        end
        args, bind = a, nil
      end
      if positional and key == LOOP.key_name and LOOP.gone then
        rollback()
        return redis.error_reply('RAPYER ' .. i .. ' the loop removed this element; it cannot be changed after')
      end
      if absent then
        -- skipped for want of its value: no result (a status the client reads as such)
        results[i + 2] = {ok = 'RAPYER_ABSENT'}
      else
      local op = OPS[code]
      if not op then rollback(); return redis.error_reply('RAPYER ' .. i .. ' unknown op ' .. code) end
      remember(key)
      -- an op on an indexed root field moves its index entry: computed from the stored
      -- values before and after, never from the client's copy
      local spec
      if field ~= '' then spec = doc.indexed[field] else spec = doc.by_src[kidx - 1] end
      local old = spec and spec_value(spec, KEYS[doc.base + 1], keys_after(doc.base + 1))
      local ok, res = pcall(op, key, field, args)
      if not ok then
        rollback()
        local reason = type(res) == 'table' and res.rapyer or tostring(res)
        return redis.error_reply('RAPYER ' .. i .. ' ' .. reason)
      end
      if spec then
        local new = spec_value(spec, KEYS[doc.base + 1], keys_after(doc.base + 1))
        local score = spec.kind == 'n' and new and tonumber(new)
        if spec.kind == 'n' and new and (score == nil or score ~= score) then
          -- NaN (or text) has no place in a numeric index: restore the field, undo the
          -- plan, refuse (checked here because set/mul/div can all produce it)
          if old then redis.call('HSET', key, field, old) else redis.call('HDEL', key, field) end
          rollback()
          return redis.error_reply('RAPYER ' .. i .. ' ' .. tostring(new) .. ' cannot be stored in an indexed number field')
        end
        if type(new) == 'table' or type(old) == 'table' or old ~= new then
          index_update(spec.key, spec.kind == 'n', doc.id, old, new)
          index_undo[#index_undo + 1] = {spec = spec, id = doc.id, old = old, new = new}
        end
      end
      results[i + 2] = res
      if positional and key == LOOP.key_name then
        -- the loop's element after an op on it: as stored now, or gone
        if code == 'lrem_at' then
          LOOP.removed, LOOP.gone = LOOP.removed + 1, true
        elseif code == 'hdel' then
          LOOP.gone = true
        elseif LOOP.type == 'list' then
          LOOP.elem = redis.call('LINDEX', key, LOOP.pos)
        else
          LOOP.elem = redis.call('HGET', key, LOOP.key) or LOOP.elem
        end
      end
      end
    end
    i = i + 1
  end
  return nil
end

do
  local err = run_ops(1, nops)
  if err then return err end
end

-- a new named structure whose key the plan created: its root (tag) and its name
for _, doc in ipairs(docs) do
  if doc.create and redis.call('EXISTS', KEYS[doc.base + 3]) == 1 then
    redis.call('HSET', KEYS[doc.base + 1], '$v', '1', 'kind', doc.create)
    redis.call('ZADD', KEYS[doc.base + 2], 'inf', doc.id)
  end
end

-- every key of a document shares one TTL
for _, doc in ipairs(docs) do
  if not doc.missing then
    local root = KEYS[doc.base + 1]
    local refreshed = doc.refresh ~= '0'
      and refresh_when_due(doc.base + 1, doc.base + doc.nkeys, doc.base + 2, doc.id, doc.refresh)
    if not refreshed then
      local pttl = redis.call('PTTL', root)
      if pttl > 0 then
        for k = 3, doc.nkeys do
          local key = KEYS[doc.base + k]
          if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, pttl) end
        end
      end
    end
  end
end
return results

