--[[
  Stores a task state as Celery's Redis result backend does (SETEX, then PUBLISH of the same JSON on the
  key's channel, atomically). One script call instead of MULTI/SETEX/PUBLISH/EXEC: a single command, so the
  client's auto-pipelining batches the stores of all handlers finishing in one event-loop turn into one write.
  What Redis holds and what subscribers receive is byte for byte the same.

  KEYS[1] celery-task-meta-<id>
  ARGV[1] the result JSON, ARGV[2] expiry (s)

  Output: 1
]]
redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
