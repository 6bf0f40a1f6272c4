-- The front of every plan script (exec.lua, read_plan.lua): reads the documents and
-- their index specs (begin_plan, the first thing the program does), and the ops one by
-- one (next_op). The plan's KEYS and ARGV are described in exec.lua. Definitions only
-- (a function library builds them once, scripts/library.rs): the plan's state lives in
-- `docs` and `pos`, set anew by begin_plan on every call.

local docs, pos = {}, 2

-- the state cond.lua keeps for the program (the loop's element, the results so far)
local LOOP = {}
local CTX = {}

local function begin_plan()
  docs, pos = {}, 2
  for k in pairs(LOOP) do LOOP[k] = nil end
  CTX.results = nil
  local base = 0
  for d = 1, tonumber(ARGV[1]) do
    local doc = {flags = ARGV[pos], id = ARGV[pos + 1], refresh = ARGV[pos + 2], nkeys = tonumber(ARGV[pos + 3]), base = base}
    doc.specs, pos = read_specs(pos + 4)
    doc.indexed, doc.by_src = {}, {}
    for _, spec in ipairs(doc.specs) do
      if spec.kind == 'n' or spec.kind == 's' then doc.indexed[spec.path] = spec else doc.by_src[spec.src] = spec end
    end
    base = base + doc.nkeys + #doc.specs
    docs[d] = doc
  end
end

-- The Redis type an op needs of its key (nil: any): a root field op's key is the root
-- hash; a structure's or path's op names its key's type in its first argument.
local function op_key_type(code, field, first_arg)
  if field ~= '' then return 'hash' end
  local want = OP_TYPES[code]
  if want == 'arg' then return first_arg end
  return want
end

-- The next op of the plan from ARGV[pos] on: its document, code, key, hash field and
-- arguments (advances pos).
local function next_op()
  local doc = docs[tonumber(ARGV[pos])]
  local kidx = tonumber(ARGV[pos + 2])
  local code, key, field, argc = ARGV[pos + 1], KEYS[doc.base + kidx], ARGV[pos + 3], tonumber(ARGV[pos + 4])
  local args = {}
  for j = 1, argc do args[j] = ARGV[pos + 4 + j] end
  pos = pos + 5 + argc
  return doc, code, key, field, args, kidx
end
