--[[
  Moves delayed messages whose time has come from hotspot's delayed set to their queue lists (LPUSH, as a publish),
  atomically: a message is in the set or in its list, never in neither, whoever runs this and whenever a process
  dies. The list key is inside the member (one Redis, no Cluster: kombu's transport does not support Cluster).

  KEYS[1] the delayed sorted set (score = due time, ms; member = <byte length of the list key>:<list key><envelope>)
  ARGV[1] now (ms), ARGV[2] how many at most

  Output: how many were moved
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local colon = string.find(member, ':', 1, true)
  local length = colon and tonumber(string.sub(member, 1, colon - 1))
  if length then
    redis.call('LPUSH', string.sub(member, colon + 1, colon + length), string.sub(member, colon + length + 1))
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
