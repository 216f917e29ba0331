--[[
  Exact sliding-window limit ("sliding log"): admits `weight` units for a subject only if, for every rule, the
  units taken in the last `window` ms plus `weight` stay within the rule's limit. All or nothing: a refused
  request leaves the log untouched. One sorted-set member per unit, scored by the Redis server's clock in ms,
  so a window's total is one ZCOUNT (O(log n)) whatever the limit, and the wait is one ranked lookup.

  KEYS[1] the subject's log: sorted set, member "<reservation id>:<unit>" -> ms (Redis TIME) it was taken

  ARGV[1] reservation id (unique per call), ARGV[2] weight (units, >= 1)
  ARGV[3], ARGV[4] first rule: limit (units), window (ms); further rules follow as more pairs

  Output: {1, now ms} admitted: the units are in the log under the reservation id
          {0, retry after ms, rule index (0-based)} refused: ms until the weight would fit under every rule,
          -1 when it never can (weight above that rule's limit)
]]
local rcall = redis.call
local key = KEYS[1]
local id = ARGV[1]
local weight = tonumber(ARGV[2])
local t = rcall('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local longest = 0
for r = 3, #ARGV, 2 do
  local window = tonumber(ARGV[r + 1])
  if window > longest then longest = window end
end
-- Units older than the longest window count for no rule any more. The window is (now - window, now].
rcall('ZREMRANGEBYSCORE', key, '-inf', now - longest)

local retry, worst = 0, 0
for r = 3, #ARGV, 2 do
  local limit = tonumber(ARGV[r])
  local window = tonumber(ARGV[r + 1])
  local rule = (r - 3) / 2
  if weight > limit then return { 0, -1, rule } end
  local from = '(' .. (now - window)
  local excess = rcall('ZCOUNT', key, from, '+inf') + weight - limit
  if excess > 0 then
    -- The `excess`-th oldest unit still in the window has to leave it before the weight fits.
    local unit = rcall('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT', excess - 1, 1)
    local wait = tonumber(unit[2]) + window - now
    if wait > retry then
      retry = wait
      worst = rule
    end
  end
end
if retry > 0 then return { 0, retry, worst } end

local members = {}
for i = 1, weight do
  members[#members + 1] = now
  members[#members + 1] = id .. ':' .. i
end
rcall('ZADD', key, unpack(members))
rcall('PEXPIRE', key, longest)
return { 1, now }
