--[[
  Loads a product into Redis: when it is created, or from SQL after Redis lost it. A restore writes only while
  the product hash is absent, so a product Redis still knows is left alone. Buyers come from SQL orders, in
  chunks (ARGV can only be so long); the last chunk writes the product hash with remaining = stock - buyers.

  KEYS[1] product hash, KEYS[2] buyers hash

  ARGV[1] 1 on the last chunk, else 0
  ARGV[2] "new" for a product just created (whatever Redis held under its id is replaced), "restore" after a
          loss (records restoredAt, so order tasks of admissions Redis forgot can admit again)
  ARGV[3] number of product fields n, then n field/value pairs (name, price, stock, starts, ends, createdAt)
  then user id / record pairs for the buyers

  Output: remaining after restoring; -1 when the product was already in Redis (nothing written)
]]
local rcall = redis.call
if ARGV[2] == 'new' then
  rcall('DEL', KEYS[1], KEYS[2])
elseif rcall('EXISTS', KEYS[1]) == 1 then
  return -1
end
local n = tonumber(ARGV[3])
local first = 4 + 2 * n
for i = first, #ARGV, 2 do
  rcall('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
if ARGV[1] ~= '1' then return 0 end
local stock
for i = 4, first - 1, 2 do
  rcall('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'stock' then stock = tonumber(ARGV[i + 1]) end
end
local remaining = stock - rcall('HLEN', KEYS[2])
if remaining < 0 then remaining = 0 end
rcall('HSET', KEYS[1], 'remaining', remaining)
if ARGV[2] == 'restore' then
  local time = rcall('TIME')
  rcall('HSET', KEYS[1], 'restoredAt', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
end
return remaining
