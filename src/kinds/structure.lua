-- Ops of plug-in structures (kinds/structure.rs), prepended after exec/ops.lua
-- (scripts/mod.rs): Redis commands on the field's own key. args[1] is the key's Redis
-- type (checked before the plan writes anything); for one command, args[2] is the
-- command and the rest its arguments, and its reply is the op's reply (chains below).

OP_TYPES.structure_write, OP_TYPES.structure_read = 'arg', 'arg'
OP_TYPES.structure_write_get, OP_TYPES.structure_chain = 'arg', 'arg'
OP_TYPES.structure_chain_read = 'arg'

OPS.structure_write = function(key, _, a) return call(a[2], key, unpack(a, 3)) end
OPS.structure_read = OPS.structure_write
-- The command, then the key's value as stored (a STRING key): exact where the
-- command's integer reply would pass through a Lua number (a double, exact to 2^53).
OPS.structure_write_get = function(key, _, a)
  call(a[2], key, unpack(a, 3))
  return call('GET', key)
end

-- Several commands on the key in one step: args[2] the reply mode ("r": the first
-- command's reply, "v": the key's value after them, GET, "c": every command's reply,
-- arrays flattened, statuses left out), then per command its name, argument count and
-- arguments.
OPS.structure_chain = function(key, _, a)
  local first, all = nil, {}
  local i = 3
  while i <= #a do
    local n = tonumber(a[i + 1])
    local r = call(a[i], key, unpack(a, i + 2, i + 1 + n))
    if i == 3 then first = r end
    if a[2] == 'c' then
      -- arrays flattened, single values kept, status replies left out
      if type(r) == 'table' then
        for _, v in ipairs(r) do all[#all + 1] = v end
      else
        all[#all + 1] = r
      end
    end
    i = i + 2 + n
  end
  if a[2] == 'v' then return call('GET', key) end
  if a[2] == 'c' then return all end
  return first
end
-- the same, reads only (a read refreshes the TTL under a read policy)
OPS.structure_chain_read = OPS.structure_chain
