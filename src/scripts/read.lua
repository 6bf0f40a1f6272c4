-- Reading a whole document, prepended to load.lua and lock_load.lua (scripts/mod.rs).

-- Appends a document's content to `out`: HGETALL of KEYS[root], then each collection
-- KEYS[first..last] read by its kind letter ARGV[kinds], ARGV[kinds + 1], ... ("l" list,
-- "h" hash, "s" set, "t" string: GET, "z" sorted set: member, score pairs). A key of
-- the wrong Redis type gives its error in its place, as a status reply (the client
-- names key and field; a Safe field takes its fallback), not a failed script.
-- A read's reply as the script returns it: an error becomes a status reply holding its
-- message (no read above replies with a status), since a cluster client fails a whole
-- reply that holds an error; the client turns it back into the error (plan.rs).
local function readable(r)
  if type(r) == 'table' and r.err then return {ok = r.err} end
  return r
end

local function read_doc(out, root, first, last, kinds)
  out[#out + 1] = readable(redis.pcall('HGETALL', KEYS[root]))
  for k = first, last do
    local kind = ARGV[kinds + k - first]
    local r
    if kind == 'l' then
      r = redis.pcall('LRANGE', KEYS[k], 0, -1)
    elseif kind == 'h' then
      r = redis.pcall('HGETALL', KEYS[k])
    elseif kind == 't' then
      r = redis.pcall('GET', KEYS[k])
    elseif kind == 'z' then
      r = redis.pcall('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
    else
      r = redis.pcall('SMEMBERS', KEYS[k])
    end
    out[#out + 1] = readable(r)
  end
  return out
end
