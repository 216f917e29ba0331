--[[
  Releases a lock only if we still hold it.

  KEYS[1] lock key
  ARGV[1] owner token

  Output: 1 if released, 0 if the lock is not ours
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
