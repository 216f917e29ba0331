--[[
  The top of a ranking among the items of one kind: the ranking intersected with the bucket's set of that kind's
  ids (the set's scores weigh 0, so each item keeps its views), read highest first, then dropped.

  KEYS[1] ranking (zset), KEYS[2] ids of the kind (set), KEYS[3] scratch key (same bucket)
  ARGV[1] how many to return
]]
if redis.call('ZINTERSTORE', KEYS[3], 2, KEYS[1], KEYS[2], 'WEIGHTS', 1, 0) == 0 then
  return {}
end
local top = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[1]) - 1, 'REV', 'WITHSCORES')
redis.call('DEL', KEYS[3])
return top
