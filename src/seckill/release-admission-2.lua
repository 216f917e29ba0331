--[[
  Undoes an admission whose order task could not be published: the buyer record goes and its unit returns to
  `remaining`. Only a pending record of that very admission is undone; once an order task has claimed it (the
  publish did reach the broker after all), the order stands and nothing is given back.

  KEYS[1] product hash, KEYS[2] buyers hash

  ARGV[1] user id
  ARGV[2] admission id

  Output: 1 undone; 0 claimed by an order task (keep it); -1 no such pending admission
]]
local rcall = redis.call
local record = rcall('HGET', KEYS[2], ARGV[1])
if not record then return -1 end
local state, id = string.match(record, '^(%a)|%d+|(.+)$')
if id ~= ARGV[2] then return -1 end
if state ~= 'p' then return 0 end
rcall('HDEL', KEYS[2], ARGV[1])
rcall('HINCRBY', KEYS[1], 'remaining', 1)
return 1
