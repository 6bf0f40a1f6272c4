-- Ops of plug-in structures (kinds/structure.rs), prepended after exec/ops.lua
-- (scripts/mod.rs): one Redis command on the field's own key. args[1] is the key's Redis
-- type (checked before the plan writes anything), args[2] the command, then its
-- arguments; the command's reply is the op's reply.

OP_TYPES.structure_write, OP_TYPES.structure_read = 'arg', 'arg'
OP_TYPES.structure_write_get = 'arg'

OPS.structure_write = function(key, _, a) return call(a[2], key, unpack(a, 3)) end
OPS.structure_read = OPS.structure_write
-- The command, then the key's value as stored (a STRING key): exact where the
-- command's integer reply would pass through a Lua number (a double, exact to 2^53).
OPS.structure_write_get = function(key, _, a)
  call(a[2], key, unpack(a, 3))
  return call('GET', key)
end
