--[[
  Reads a cached entry and, when it is missing or past its TTL, tries to take the fill lock, so that one caller
  in all processes loads from SQL (or refreshes a stale entry) while the others wait or serve the stale copy.

  KEYS[1] entry hash: v = serialized value, g = generation it was filled under, grace = grace period (ms)
  KEYS[2] generation: changed by every invalidation (absent = never invalidated)
  KEYS[3] fill lock
  ARGV[1] lock token
  ARGV[2] lock lifetime (ms)

  Output: { value or nil, current generation ('' when absent), ms the entry has left (-2 when absent),
            grace ms, 1 when this caller took the lock else 0 }
  Fresh = value present and more than `grace` ms left; the caller never needs the lock then.
]]
local rcall = redis.call
local generation = rcall('GET', KEYS[2]) or ''
local fields = rcall('HMGET', KEYS[1], 'v', 'g', 'grace')
local value = fields[1]
local grace = tonumber(fields[3]) or 0
local remaining = -2
if value and fields[2] == generation then
  remaining = rcall('PTTL', KEYS[1])
  if remaining > grace then
    return { value, generation, remaining, grace, 0 }
  end
else
  value = false
end
local locked = 0
if rcall('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
  locked = 1
end
return { value, generation, remaining, grace, locked }
