--[[
  Admits a batch of buyers of one product (group commit: the attempts that reached one API process in the same
  event-loop turn), one after the other in arrival order, each all or nothing: the sale window (by Redis'
  clock), one admission per user, then the stock. An admitted buyer takes one unit of `remaining` and gets a
  pending admission record that the order task later claims.

  KEYS[1] product hash (remaining, starts, ends in ms; starts/ends absent = open)
  KEYS[2] buyers hash: user id -> "<state>|<admitted at ms>|<admission id>"

  ARGV[2i - 1] user id of the i-th attempt
  ARGV[2i]     its admission id (also its order task's id)

  Output: {now ms, code of attempt 1, code of attempt 2, ...}: 1 admitted (at `now`);
          -1 unknown product, -2 not started, -3 ended, -4 already purchased, -5 sold out
]]
local rcall = redis.call
local n = #ARGV / 2
local time = rcall('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = { now }
local product = rcall('HMGET', KEYS[1], 'remaining', 'starts', 'ends')
local refusal
if not product[1] then
  refusal = -1
elseif product[2] and now < tonumber(product[2]) then
  refusal = -2
elseif product[3] and now >= tonumber(product[3]) then
  refusal = -3
end
if refusal then
  for i = 1, n do out[i + 1] = refusal end
  return out
end
local left = tonumber(product[1])
local taken = 0
for i = 1, n do
  local user = ARGV[2 * i - 1]
  -- Checked after the HSETs of earlier attempts in this batch: a user twice in one batch is admitted once.
  if rcall('HEXISTS', KEYS[2], user) == 1 then
    out[i + 1] = -4
  elseif taken >= left then
    out[i + 1] = -5
  else
    taken = taken + 1
    rcall('HSET', KEYS[2], user, 'p|' .. now .. '|' .. ARGV[2 * i])
    out[i + 1] = 1
  end
end
if taken > 0 then rcall('HINCRBY', KEYS[1], 'remaining', -taken) end
return out
