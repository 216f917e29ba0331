--[[
  Reads a cached entry and, when it is missing or past its TTL, tries to take the fill lock, so that one caller
  in all processes loads from SQL (or refreshes a stale entry) while the others wait or serve the stale copy.

  KEYS[1] entry hash: v = serialized value, g = generation it was filled under, grace = grace period (ms),
          t = its tags (JSON array, '' = none), e = tag epoch its loader read before it ran
  KEYS[2] generation: changed by every invalidation (absent = never invalidated)
  KEYS[3] fill lock
  ARGV[1] lock token
  ARGV[2] lock lifetime (ms)
  ARGV[3] an entry whose epoch is below this is treated as absent (the caller found one of its tags invalidated
          since); 0 = none

  Output: { value or nil, current generation ('' when absent), ms the entry has left (-2 when absent),
            grace ms, 1 when this caller took the lock else 0, tags, epoch }
  Fresh = value present and more than `grace` ms left; the caller never needs the lock then.
]]
local rcall = redis.call
local generation = rcall('GET', KEYS[2]) or ''
local fields = rcall('HMGET', KEYS[1], 'v', 'g', 'grace', 't', 'e')
local value = fields[1]
local grace = tonumber(fields[3]) or 0
local tags = fields[4] or ''
local epoch = tonumber(fields[5]) or 0
local remaining = -2
if value and fields[2] == generation and epoch >= tonumber(ARGV[3]) then
  remaining = rcall('PTTL', KEYS[1])
  if remaining > grace then
    return { value, generation, remaining, grace, 0, tags, epoch }
  end
else
  value = false
  tags = ''
  epoch = 0
end
-- Already ours when the caller asks again after finding the entry voided by a tag.
local locked = 0
if rcall('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) or rcall('GET', KEYS[3]) == ARGV[1] then
  locked = 1
end
return { value, generation, remaining, grace, locked, tags, epoch }
