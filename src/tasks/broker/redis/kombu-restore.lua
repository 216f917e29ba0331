--[[
  kombu's restore_by_tag as one atomic step: when the message is still unacked exactly as it was read (kombu
  WATCHes `unacked` for the same reason), drop it from the indices and push the redelivered payload back to
  its queue(s): RPUSH (kombu's default: the end consumers take next) or LPUSH when ARGV[3] is '1' (kombu's
  reject with requeue, `leftmost`).

  KEYS[1] unacked, KEYS[2] unacked_index, KEYS[3..] the queues (kombu's _lookup of exchange, routing key)
  ARGV[1] delivery tag, ARGV[2] the `unacked` value read, ARGV[3] '1' = leftmost, ARGV[4] the payload to push

  Output: 1 restored, 0 it was acked (or restored by someone else) meanwhile
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #KEYS do
  if ARGV[3] == '1' then
    redis.call('LPUSH', KEYS[i], ARGV[4])
  else
    redis.call('RPUSH', KEYS[i], ARGV[4])
  end
end
return 1
