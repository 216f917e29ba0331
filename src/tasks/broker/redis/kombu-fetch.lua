--[[
  Takes up to ARGV[1] messages from a queue's lists, in kombu's BRPOP order (the lists are given in priority
  order; RPOP = the end BRPOP takes, as kombu LPUSHes), and records each as kombu's QoS.append does: the
  `unacked` hash (delivery tag -> JSON [payload, exchange, routing_key]) and the `unacked_index` sorted set
  (delivery tag -> time in seconds). kombu does BRPOP then a separate pipeline, so a worker dying in between
  loses the message; here taking and recording are one atomic step.

  KEYS[1] unacked, KEYS[2] unacked_index, KEYS[3..] the queue's lists (queue, queue\x06\x163, ...)
  ARGV[1] how many at most, ARGV[2] now (s, float, the client's clock as kombu uses)

  Output: flat list {tag1, payload1, tag2, payload2, ...}; tag is '' for an item that is not a kombu envelope
  (it is not recorded: the worker dead-letters it).
]]
local max = tonumber(ARGV[1])
local out = {}
local n = 0
for i = 3, #KEYS do
  while n < max do
    local item = redis.call('RPOP', KEYS[i])
    if not item then break end
    n = n + 1
    local ok, payload = pcall(cjson.decode, item)
    local tag, ex, rk = '', '', KEYS[i]
    if ok and type(payload) == 'table' and type(payload.properties) == 'table' then
      local props = payload.properties
      if type(props.delivery_tag) == 'string' then tag = props.delivery_tag end
      local info = props.delivery_info
      if type(info) == 'table' then
        if type(info.exchange) == 'string' then ex = info.exchange end
        if type(info.routing_key) == 'string' then rk = info.routing_key end
      end
    end
    if tag ~= '' then
      -- The item's exact bytes, not a re-encoding: what Python restores is what was published.
      redis.call('HSET', KEYS[1], tag, '[' .. item .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
      redis.call('ZADD', KEYS[2], ARGV[2], tag)
    end
    out[#out + 1] = tag
    out[#out + 1] = item
  end
  if n >= max then break end
end
return out
