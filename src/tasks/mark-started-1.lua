--[[
  Records STARTED for a task unless it already succeeded: a redelivered message of a finished task (the worker
  died between storing SUCCESS and acking) is recognised here and not run again. One round trip instead of
  GET then SETEX; written and published like Celery's result backend does.

  KEYS[1] celery-task-meta-<id>
  ARGV[1] the STARTED JSON, ARGV[2] expiry (s)

  Output: 1 if marked started, 0 if the task already succeeded
]]
local current = redis.call('GET', KEYS[1])
if current and string.find(current, '"status": "SUCCESS"', 1, true) then
  return 0
end
redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
