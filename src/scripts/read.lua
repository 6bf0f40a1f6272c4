-- Reading a whole document, prepended to load.lua and lock_load.lua (scripts/mod.rs).

-- Appends a document's content to `out`: HGETALL of KEYS[root], then each collection
-- KEYS[first..last] read by its kind letter ARGV[kinds], ARGV[kinds + 1], ... ("l" list,
-- "h" hash, "s" set).
local function read_doc(out, root, first, last, kinds)
  out[#out + 1] = redis.call('HGETALL', KEYS[root])
  for k = first, last do
    local kind = ARGV[kinds + k - first]
    if kind == 'l' then
      out[#out + 1] = redis.call('LRANGE', KEYS[k], 0, -1)
    elseif kind == 'h' then
      out[#out + 1] = redis.call('HGETALL', KEYS[k])
    else
      out[#out + 1] = redis.call('SMEMBERS', KEYS[k])
    end
  end
  return out
end
