--[[
  Reconciliation's repair of one product: buyers that have an order in SQL but no record in Redis get one
  back (claimed), then `remaining` is set to what the records say it must be, stock - buyers. Atomic with
  admissions, so it is safe in the middle of a rush.

  KEYS[1] product hash, KEYS[2] buyers hash

  ARGV user id / record pairs to restore (may be empty)

  Output: {remaining before, remaining after, records restored, buyers}; {-1} when the product is unknown
]]
local rcall = redis.call
local product = rcall('HMGET', KEYS[1], 'remaining', 'stock')
if not product[1] then return { -1 } end
local restored = 0
for i = 1, #ARGV, 2 do
  restored = restored + rcall('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
local buyers = rcall('HLEN', KEYS[2])
local remaining = tonumber(product[2]) - buyers
if remaining < 0 then remaining = 0 end
if remaining ~= tonumber(product[1]) then rcall('HSET', KEYS[1], 'remaining', remaining) end
return { tonumber(product[1]), remaining, restored, buyers }
