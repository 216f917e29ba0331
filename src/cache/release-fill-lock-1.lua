--[[
  Releases a fill lock if the caller still holds it (a lock that expired and was taken by another loader, or
  deleted by an invalidation, is left alone).

  KEYS[1] fill lock
  ARGV[1] lock token

  Output: 1 released, 0 not ours
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
