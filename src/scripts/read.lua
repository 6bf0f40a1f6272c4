-- Reading a whole document, prepended to load.lua and lock_load.lua (scripts/mod.rs).

-- Appends a document's content to `out`: HGETALL of KEYS[root], then each collection
-- KEYS[first..last] read by its kind letter ARGV[kinds], ARGV[kinds + 1], ... ("l" list,
-- "h" hash, "s" set, "t" string: GET, "z" sorted set: member, score pairs). A key of
-- the wrong Redis type gives its error in its place (the client names key and field; a
-- Safe field takes its fallback), not a failed script.
local function read_doc(out, root, first, last, kinds)
  out[#out + 1] = redis.pcall('HGETALL', KEYS[root])
  for k = first, last do
    local kind = ARGV[kinds + k - first]
    if kind == 'l' then
      out[#out + 1] = redis.pcall('LRANGE', KEYS[k], 0, -1)
    elseif kind == 'h' then
      out[#out + 1] = redis.pcall('HGETALL', KEYS[k])
    elseif kind == 't' then
      out[#out + 1] = redis.pcall('GET', KEYS[k])
    elseif kind == 'z' then
      out[#out + 1] = redis.pcall('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
    else
      out[#out + 1] = redis.pcall('SMEMBERS', KEYS[k])
    end
  end
  return out
end
