--[[
  Extends a lock only if we still hold it (a lock that expired and was taken by another owner stays theirs).

  KEYS[1] lock key
  ARGV[1] owner token, ARGV[2] new time to live (ms)

  Output: 1 if extended, 0 if the lock is not ours
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
