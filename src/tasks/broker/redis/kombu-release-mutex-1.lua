--[[
  Releases kombu's `unacked_mutex` if we still hold it (redis-py's Lock.release: compare the token, delete).

  KEYS[1] unacked_mutex, ARGV[1] our token
  Output: 1 released, 0 not ours (expired and taken by another)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
