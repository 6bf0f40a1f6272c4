-- Who refers to some documents, in one shard of a referring model (the read a cascade
-- plans from, see relation/cascade.rs).
--
-- KEYS[1]    the shard's id index       KEYS[2..]  foreign-key indexes of the shard
-- ARGV       per question: the index's position in KEYS, the id referred to
--
-- Reply: per question, the live referring ids (relations.lua's live_refs). Drops expired
-- ids from the id index, as a query does; idempotent.

do
  local bad = wrong_type(1, 'zset')
  for k = 2, #KEYS do bad = bad or wrong_type(k, 'zset') end
  if bad then return bad end
end
clear_expired(KEYS[1])
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = live_refs(KEYS[1], KEYS[tonumber(ARGV[i])], ARGV[i + 1])
end
return out
