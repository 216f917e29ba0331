--[[
  Invalidates a cached value: a new generation (loaders that read SQL before now can no longer store what they
  read), the entry gone, and the fill lock gone too, so the next reader loads at once instead of waiting for a
  loader that may be holding old rows.

  KEYS[1] entry hash
  KEYS[2] generation
  KEYS[3] fill lock
  ARGV[1] new generation (unique)
  ARGV[2] lifetime of the generation key (ms)

  Output: 1
]]
local rcall = redis.call
rcall('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
rcall('DEL', KEYS[1], KEYS[3])
return 1
