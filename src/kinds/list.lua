-- Ops on lists, prepended after exec/ops.lua (scripts/mod.rs). args[1] is the client's
-- length ("-" without a local copy).

-- list mutators: reply the new length, plus the whole list when the client's copy
-- (whose length it sends) was stale before the op, so the local mirror ends equal. A
-- client without a local copy sends "-" (no number): it never gets the whole list.
local function list_reply(key, before, client_len, extra)
  local out = {call('LLEN', key)}
  if extra ~= nil then out[2] = extra else out[2] = false end
  if client_len and before ~= client_len then out[3] = call('LRANGE', key, 0, -1) end
  return out
end

do -- numeric for: a function library's load runs without globals (no ipairs)
  local codes = {'rpush', 'lpush', 'rpop', 'lpop', 'llen', 'linsert', 'lrem', 'lset', 'lindex', 'ltrim', 'lrange', 'lrem_at'}
  for i = 1, #codes do OP_TYPES[codes[i]] = 'list' end
end

OPS.rpush = function(key, _, a)
  local before = call('LLEN', key)
  each_batch(a, function(first, last) call('RPUSH', key, unpack(a, first, last)) end)
  return list_reply(key, before, tonumber(a[1]))
end
OPS.lpush = function(key, _, a)
  local before = call('LLEN', key)
  -- LPUSH a b c leaves c b a: push in reverse so the items keep their order
  for i = #a, 2, -1 do call('LPUSH', key, a[i]) end
  return list_reply(key, before, tonumber(a[1]))
end
OPS.rpop = function(key, _, a)
  local before = call('LLEN', key)
  if before == 0 then reject('pop from an empty list') end
  local v = call('RPOP', key)
  return list_reply(key, before, tonumber(a[1]), v)
end
OPS.lpop = function(key, _, a)
  local before = call('LLEN', key)
  if before == 0 then reject('pop from an empty list') end
  local v = call('LPOP', key)
  return list_reply(key, before, tonumber(a[1]), v)
end
OPS.llen = function(key) return call('LLEN', key) end
OPS.linsert = function(key, _, a)
  local before = call('LLEN', key)
  local i = tonumber(a[2])
  if i < 0 then i = math.max(before + i, 0) end
  if i >= before then
    call('RPUSH', key, a[3])
  elseif i == 0 then
    call('LPUSH', key, a[3])
  else
    local tail = call('LRANGE', key, i, -1)
    call('LTRIM', key, 0, i - 1)
    call('RPUSH', key, a[3])
    for j = 1, #tail, 1000 do
      call('RPUSH', key, unpack(tail, j, math.min(j + 999, #tail)))
    end
  end
  return list_reply(key, before, tonumber(a[1]))
end
OPS.lrem = function(key, _, a)
  local before = call('LLEN', key)
  local n = call('LREM', key, a[2], a[3])
  return list_reply(key, before, tonumber(a[1]), n)
end
OPS.lset = function(key, _, a)
  local before = call('LLEN', key)
  local i = tonumber(a[2])
  if i >= before or i < -before then reject('index ' .. a[2] .. ' out of range for length ' .. before) end
  call('LSET', key, a[2], a[3])
  return list_reply(key, before, tonumber(a[1]))
end
OPS.lindex = function(key, _, a) return call('LINDEX', key, a[1]) or false end
-- removes the element at position a[2] (a loop's element, exec.lua): marked, then the
-- mark removed; when the list holds the mark's bytes before it (never in practice), by
-- cutting the list there
local LIST_MARK = '\0rapyer\0removed\0'
OPS.lrem_at = function(key, _, a)
  local before = call('LLEN', key)
  local i = tonumber(a[2])
  if i < 0 or i >= before then reject('position ' .. a[2] .. ' out of range for length ' .. before) end
  if call('LPOS', key, LIST_MARK) then
    local tail = call('LRANGE', key, i + 1, -1)
    call('LTRIM', key, 0, i - 1)
    if i == 0 then call('DEL', key) end
    for j = 1, #tail, 1000 do call('RPUSH', key, unpack(tail, j, math.min(j + 999, #tail))) end
  else
    call('LSET', key, i, LIST_MARK)
    call('LREM', key, 1, LIST_MARK)
  end
  return list_reply(key, before, tonumber(a[1]), 1)
end
OPS.ltrim = function(key, _, a)
  local before = call('LLEN', key)
  call('LTRIM', key, a[2], a[3])
  return list_reply(key, before, tonumber(a[1]))
end
OPS.lrange = function(key, _, a) return call('LRANGE', key, a[1], a[2]) end
