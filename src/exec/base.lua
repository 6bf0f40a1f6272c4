-- The base of every plan script, prepended first of the executor's parts (scripts/mod.rs):
-- the op table the kinds fill, the Redis type each op needs of its key, and the two
-- helpers every op calls. exec.lua's helpers follow in ops.lua; read_plan.lua needs
-- only these.

-- OPS[code](key, field, args): one atomic op; OP_TYPES[code]: the Redis type its
-- collection key must have (root hash ops: field ~= "", always a hash)
local OPS, OP_TYPES = {}, {}

local function reject(reason) error({rapyer = reason}) end

local function call(...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then reject(r.err) end
  return r
end
