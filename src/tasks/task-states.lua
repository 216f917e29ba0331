--[[
  The worker's per-task reads and writes of one event-loop turn in one script run (see task-states.ts): a
  handful of operations per task, each its own command before, were most of the worker's Redis client cost.
  Operations run in arrival order; each is what its commands did:
    'admit'   may the task run? 2 if its revoked key exists (nothing written); 0 if it already succeeded (a
              redelivered message of a finished task: the worker died between storing SUCCESS and acking);
              else 1, with STARTED written (SETEX + PUBLISH). One operation, so a task waits one round trip
              before it runs, not one for the revoked check and another for STARTED.
    'store'   a state written like Celery's result backend: SETEX, then PUBLISH of the same JSON on the key's
              channel (what Python's AsyncResult.get() waits on)

  KEYS     the keys of the operations in order: 'admit' has two (the result key, then the revoked key, which
           shares its hash slot), 'store' one (one hash slot per call on a Cluster: the caller groups by slot)
  ARGV[1]  the result expiry (s); for operation i: ARGV[2i] its name, ARGV[2i+1] its JSON

  Output: one integer per operation (store: 1)
]]
local expiry = ARGV[1]
local out = {}
local k = 1
for i = 1, (#ARGV - 1) / 2 do
  local op, value = ARGV[2 * i], ARGV[2 * i + 1]
  local key = KEYS[k]
  if op == 'admit' then
    local revoked = KEYS[k + 1]
    k = k + 2
    if redis.call('EXISTS', revoked) == 1 then
      out[i] = 2
    else
      local current = redis.call('GET', key)
      if current and string.find(current, '"status": "SUCCESS"', 1, true) then
        out[i] = 0
      else
        redis.call('SETEX', key, expiry, value)
        redis.call('PUBLISH', key, value)
        out[i] = 1
      end
    end
  else
    k = k + 1
    redis.call('SETEX', key, expiry, value)
    redis.call('PUBLISH', key, value)
    out[i] = 1
  end
end
return out
