--[[
  The worker's per-task reads and writes of one event-loop turn in one script run (see task-states.ts): a
  handful of operations per task, each its own command before, were most of the worker's Redis client cost.
  Operations run in arrival order; each is what its single command or script did:
    'revoked' 1 if the key exists (a revoked task id)
    'start'   STARTED written (SETEX + PUBLISH) unless the task already succeeded: a redelivered message of a
              finished task (the worker died between storing SUCCESS and acking) is recognised and not run again
    'store'   a state written like Celery's result backend: SETEX, then PUBLISH of the same JSON on the key's
              channel (what Python's AsyncResult.get() waits on)

  KEYS[i]  the key of operation i (one hash slot per call on a Cluster: the caller groups by slot)
  ARGV[1]  the result expiry (s); for operation i: ARGV[2i] its name, ARGV[2i+1] its JSON ('' for 'revoked')

  Output: one integer per operation (1 = written / revoked, 0 = not)
]]
local expiry = ARGV[1]
local out = {}
for i, key in ipairs(KEYS) do
  local op, value = ARGV[2 * i], ARGV[2 * i + 1]
  if op == 'revoked' then
    out[i] = redis.call('EXISTS', key)
  else
    local current = op == 'start' and redis.call('GET', key)
    if current and string.find(current, '"status": "SUCCESS"', 1, true) then
      out[i] = 0
    else
      redis.call('SETEX', key, expiry, value)
      redis.call('PUBLISH', key, value)
      out[i] = 1
    end
  end
end
return out
