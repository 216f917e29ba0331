--[[
  Releases a fill lock if the caller still holds it (a lock that expired and was taken by another loader, or
  deleted by an invalidation, is left alone). With a pause, the lock is kept that much longer instead: after a
  failed refresh nobody retries before then, so a down database sees one attempt per pause, not one per request.

  KEYS[1] fill lock
  ARGV[1] lock token
  ARGV[2] pause (ms): 0 = release now

  Output: 1 released or shortened, 0 not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('DEL', KEYS[1])
