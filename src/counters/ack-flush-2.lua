--[[
  Forgets a claimed batch once its SQL transaction committed. Only the batch named is dropped, so an ack that
  arrives late cannot delete a newer claim.

  KEYS[1] flushing hash, KEYS[2] flushing batch id
  ARGV[1] batch id that was committed

  Output: 1 if dropped, 0 if that batch was no longer the claimed one
]]
local rcall = redis.call
if rcall('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
rcall('DEL', KEYS[1], KEYS[2])
return 1
