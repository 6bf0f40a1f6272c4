-- Runs a plan whose every op is a pure read and whose documents refresh no TTL
-- (ExecPlan::build picks it): the same KEYS, ARGV and reply as exec.lua, in fewer
-- server calls. Reads write nothing, so no key is checked up front: one TYPE per
-- document tells missing ('none') from present (a hash) from the wrong type, and a
-- container's type is asked only when a read of it fails, so a key of the wrong Redis
-- type is the same RAPYER_WRONGTYPE reply as from the executor. No undo log, no index
-- upkeep, no TTL pass; and only the ops it runs are in its source (OPS).

begin_plan()
local skipped = {}
do
  local types = {}
  for d, doc in ipairs(docs) do
    local root = KEYS[doc.base + 1]
    local t = redis.call('TYPE', root)['ok']
    if t ~= 'none' and t ~= 'hash' then
      return redis.error_reply('RAPYER_WRONGTYPE ' .. t .. ' hash ' .. root)
    end
    types[d] = t
  end
  for d, doc in ipairs(docs) do
    if types[d] == 'none' then
      if doc.flags ~= 'i' then return {0, d} end
      doc.missing = true
      skipped[#skipped + 1] = d
    end
  end
end

local nops = tonumber(ARGV[pos])
pos = pos + 1
local results = {1, skipped}
for i = 1, nops do
  local doc, code, key, field, args = next_op()
  if doc.missing then
    results[i + 2] = false
  else
    -- OPS holds only what this script's source defines: path_read.lua's path_get
    local op = OPS[code]
    if not op then return redis.error_reply('RAPYER ' .. i .. ' unknown read op ' .. code) end
    local ok, res = pcall(op, key, field, args)
    if not ok then
      local want = op_key_type(code, field, args[1])
      local bad = want and key_type_error(key, want)
      if bad then return bad end
      local reason = type(res) == 'table' and res.rapyer or tostring(res)
      return redis.error_reply('RAPYER ' .. i .. ' ' .. reason)
    end
    results[i + 2] = res
  end
end
return results
