--[[
  Stores a freshly loaded value, unless the key was invalidated after the loader read its generation: a slow
  loader that read old rows must not write them back over a newer invalidation. Releases the caller's fill lock.

  KEYS[1] entry hash (v, g, grace, t, e)
  KEYS[2] generation
  KEYS[3] fill lock
  ARGV[1] generation the loader saw before it read SQL ('' = none)
  ARGV[2] serialized value
  ARGV[3] fresh lifetime (ms, jitter already applied)
  ARGV[4] grace period after it (ms)
  ARGV[5] lock token ('' = the loader held no lock)
  ARGV[6] new generation stored with the value ('' = keep): a forced refresh retires every process's L1 copy
  ARGV[7] lifetime of the generation key (ms), longer than any entry's
  ARGV[8] the entry's tags (JSON array, '' = none)
  ARGV[9] tag epoch read before the loader ran (see invalidate-tag-2.lua)

  Output: 1 stored, 0 refused (the generation moved on)
]]
local rcall = redis.call
if ARGV[5] ~= '' and rcall('GET', KEYS[3]) == ARGV[5] then
  rcall('DEL', KEYS[3])
end
if (rcall('GET', KEYS[2]) or '') ~= ARGV[1] then
  return 0
end
local generation = ARGV[1]
if ARGV[6] ~= '' then
  generation = ARGV[6]
end
if generation ~= '' then
  rcall('SET', KEYS[2], generation, 'PX', ARGV[7])
end
rcall('DEL', KEYS[1])
rcall('HSET', KEYS[1], 'v', ARGV[2], 'g', generation, 'grace', ARGV[4], 't', ARGV[8], 'e', ARGV[9])
rcall('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]))
return 1
