--[[
  Invalidates a tag: the epoch moves on, and the tag remembers the epoch it was invalidated at. An entry carrying
  the tag is valid only if its loader read the epoch at or after that (it read SQL after the invalidation).

  KEYS[1] epoch (a counter, no expiry)
  KEYS[2] the tag's generation
  ARGV[1] lifetime of the tag's generation (ms): longer than any entry's, so none outlives what voids it

  Output: the new epoch
]]
local epoch = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], epoch, 'PX', ARGV[1])
return epoch
