--[[
  Admits one buyer to a flash sale, all or nothing: the sale window (by Redis' clock), one admission per user,
  then the stock. An admitted buyer takes one unit of `remaining` and gets a pending admission record that the
  order task later claims.

  KEYS[1] product hash (remaining, starts, ends in ms; starts/ends absent = open)
  KEYS[2] buyers hash: user id -> "<state>|<admitted at ms>|<admission id>"

  ARGV[1] user id
  ARGV[2] admission id (also the order task's id)

  Output: {1, admitted at ms, remaining after} admitted;
          {-1} unknown product, {-2} not started, {-3} ended, {-4} already purchased, {-5} sold out
]]
local rcall = redis.call
local product = rcall('HMGET', KEYS[1], 'remaining', 'starts', 'ends')
if not product[1] then return { -1 } end
local time = rcall('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if product[2] and now < tonumber(product[2]) then return { -2 } end
if product[3] and now >= tonumber(product[3]) then return { -3 } end
if rcall('HEXISTS', KEYS[2], ARGV[1]) == 1 then return { -4 } end
if tonumber(product[1]) <= 0 then return { -5 } end
local left = rcall('HINCRBY', KEYS[1], 'remaining', -1)
rcall('HSET', KEYS[2], ARGV[1], 'p|' .. now .. '|' .. ARGV[2])
return { 1, now, left }
