-- Every live reference held by one shard of a model with foreign keys (what
-- validate_relations checks, see relation/audit.rs).
--
-- KEYS[1]    the shard's id index       KEYS[2..]  the shard's foreign-key indexes
--
-- Reply: per index, a flat list of id referred to, referring id (index order). Drops
-- expired ids from the id index, as a query does; idempotent.

do
  local bad = wrong_type(1, 'zset')
  for k = 2, #KEYS do bad = bad or wrong_type(k, 'zset') end
  if bad then return bad end
end
clear_expired(KEYS[1])
local out = {}
for k = 2, #KEYS do
  local flat = {}
  for _, m in ipairs(redis.call('ZRANGE', KEYS[k], 0, -1)) do
    local len_at = string.find(m, '%z[0-9]+$')
    local idlen = tonumber(string.sub(m, len_at + 1))
    local id = string.sub(m, len_at - idlen, len_at - 1)
    if redis.call('ZSCORE', KEYS[1], id) then
      flat[#flat + 1] = (string.gsub(string.sub(m, 1, len_at - idlen - 3), '%z\1', '\0'))
      flat[#flat + 1] = id
    end
  end
  out[#out + 1] = flat
end
return out
