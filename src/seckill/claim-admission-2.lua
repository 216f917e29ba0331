--[[
  Run by the order task before it writes the order: marks the admission as claimed, so a late undo (publish
  reported failed, yet the broker had the message) no longer gives its unit back.
  If Redis lost the admission (the product was restored from SQL after the admission time), the buyer is
  admitted again here, outside the sale window, from what is left.

  KEYS[1] product hash, KEYS[2] buyers hash

  ARGV[1] user id
  ARGV[2] admission id
  ARGV[3] admitted at (ms), as the admission answered

  Output: 1 claimed (or claimed before); 2 admitted again after a Redis data loss;
          0 no longer admitted (undone, or another admission of this user holds the record);
          -1 lost and sold out meanwhile; -2 product unknown to Redis
]]
local rcall = redis.call
local record = rcall('HGET', KEYS[2], ARGV[1])
if record then
  local state, at, id = string.match(record, '^(%a)|(%d+)|(.+)$')
  if id ~= ARGV[2] then return 0 end
  if state ~= 'c' then rcall('HSET', KEYS[2], ARGV[1], 'c|' .. at .. '|' .. id) end
  return 1
end
local product = rcall('HMGET', KEYS[1], 'remaining', 'restoredAt')
if not product[1] then return -2 end
if not product[2] or tonumber(ARGV[3]) >= tonumber(product[2]) then return 0 end
if tonumber(product[1]) <= 0 then return -1 end
rcall('HINCRBY', KEYS[1], 'remaining', -1)
rcall('HSET', KEYS[2], ARGV[1], 'c|' .. ARGV[3] .. '|' .. ARGV[2])
return 2
