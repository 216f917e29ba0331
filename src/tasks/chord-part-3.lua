--[[
  One chord header task's result, as Celery 5.2's Redis result backend records it (on_chord_part_return, one
  MULTI there): ZADD the encoded [1, id, state, result] to <group>.j scored by group_index, ZCOUNT it, GET the
  <group>.t (add_to_chord) and <group>.s (set_chord_size) counters, refresh the three expiries. Atomic like
  Celery's MULTI, so among Python and hotspot workers exactly one sees the last part arrive.

  KEYS[1] celery-taskset-meta-<gid>.j, KEYS[2] ….t, KEYS[3] ….s
  ARGV[1] the encoded part, ARGV[2] its score (group_index or +inf), ARGV[3] expiry (s)

  Output: {} while the chord is incomplete (or its size is unknown), else every part in score order.
]]
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local extra = redis.call('GET', KEYS[2])
local size = redis.call('GET', KEYS[3])
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
if not size then
  return {}
end
if ready ~= tonumber(size) + tonumber(extra or '0') then
  return {}
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
