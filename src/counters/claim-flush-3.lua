--[[
  Claims a bucket's pending view deltas for writing to SQL. If an earlier flush was interrupted, its claimed
  batch is returned again (with its original id) so SQL can tell whether that batch was already applied.

  KEYS[1] pending hash, KEYS[2] flushing hash, KEYS[3] flushing batch id
  ARGV[1] id for a new batch

  Output: {batch id, field, delta, field, delta, ...}, or {} when there is nothing to flush
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[2]) == 1 then
  local id = rcall('GET', KEYS[3]) or ARGV[1]
  rcall('SET', KEYS[3], id)
  local out = { id }
  for _, v in ipairs(rcall('HGETALL', KEYS[2])) do out[#out + 1] = v end
  return out
end
if rcall('EXISTS', KEYS[1]) == 0 then
  return {}
end
rcall('RENAME', KEYS[1], KEYS[2])
rcall('SET', KEYS[3], ARGV[1])
local out = { ARGV[1] }
for _, v in ipairs(rcall('HGETALL', KEYS[2])) do out[#out + 1] = v end
return out
