--[[
  Acknowledges messages as kombu's QoS.ack does (_remove_from_indices): ZREM from `unacked_index`, HDEL from
  `unacked`. Many tags per call, so a worker acks a batch in one round trip.

  KEYS[1] unacked, KEYS[2] unacked_index
  ARGV delivery tags

  Output: how many were still unacked
]]
local n = 0
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  n = n + redis.call('HDEL', KEYS[1], ARGV[i])
end
return n
