-- Who refers to a document, from a foreign-key index: prepended to refs.lua and
-- cascade.lua after index.lua and clock.lua (same member format as index.lua's
-- lex_member).

-- The ids of the live documents whose entry in string index `index` is `value` (the id
-- referred to), in index order; `ids`: the id index of the index's shard, already
-- cleared of expired ids (a document's entries can outlive it when it expires).
local function live_refs(ids, index, value)
  local esc = string.gsub(value, '%z', '\0\1')
  local out = {}
  for _, m in ipairs(redis.call('ZRANGEBYLEX', index, '[' .. esc .. '\0\0', '(' .. esc .. '\0\1')) do
    local len_at = string.find(m, '%z[0-9]+$', #esc + 3)
    local id = string.sub(m, #esc + 3, len_at - 1)
    if redis.call('ZSCORE', ids, id) then out[#out + 1] = id end
  end
  return out
end

-- Drops the id index entries of documents that expired (the ids live_refs reads).
local function clear_expired(ids)
  redis.call('ZREMRANGEBYSCORE', ids, '-inf', '(' .. now_ms())
end
