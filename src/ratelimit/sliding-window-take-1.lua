--[[
  Exact sliding-window limit ("sliding log"): admits `weight` units for a subject only if, for every rule, the
  units taken in the last `window` ms plus `weight` stay within the rule's limit. All or nothing: a refused
  request leaves the log untouched.

  The log is a list of units, newest first, each "<ms>:<reservation id>" with the time from Redis TIME. A rule
  (limit L, window W) admits w units iff the unit at index L - w is absent or older than W: every unit in the
  window is newer than it, so at most L - w are. That unit leaving the window is also when the request fits:
  one LINDEX per rule, whatever the limit, instead of counting.

  KEYS[1] the subject's log (list, newest first)

  ARGV[1] reservation id (unique per call), or "" to peek: decide as a take would, log nothing
  ARGV[2] weight (units, >= 1)
  ARGV[3], ARGV[4] first rule: limit (units), window (ms); further rules follow as more pairs
  ARGV[#ARGV] units to keep: the limit of the rule with the longest window (older units matter to no rule)

  Output: {1, now ms, quota...} admitted: the units are in the log as "<now>:<reservation id>"
          {0, retry after ms, quota...} refused: ms until the weight fits under every rule,
          -1 when it never can (weight above that rule's limit)
  quota: rule index (0-based), its limit, units remaining, ms until its oldest unit in the window leaves —
  of the rule with the fewest units remaining after this call (the refusing rule when refused)
]]
local rcall = redis.call
local key = KEYS[1]
local weight = tonumber(ARGV[2])
local t = rcall('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local retry, worst, longest = 0, 0, 0
local function expired(index, window)
  local unit = rcall('LINDEX', key, index)
  -- Units start with a 13-digit ms time (good until the year 2286).
  return not unit or tonumber(string.sub(unit, 1, 13)) + window <= now
end

-- Units of the window (at most `limit`): the log is newest first, so the expired ones are a suffix; a binary
-- search finds where it starts in log2(limit) LINDEX calls.
local function quota(rule)
  local limit = tonumber(ARGV[3 + 2 * rule])
  local window = tonumber(ARGV[4 + 2 * rule])
  local lo, hi = 0, math.min(rcall('LLEN', key), limit)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if expired(mid, window) then hi = mid else lo = mid + 1 end
  end
  local reset = 0
  if lo > 0 then reset = tonumber(string.sub(rcall('LINDEX', key, lo - 1), 1, 13)) + window - now end
  return limit - lo, limit, reset
end

local function answer(admitted, value, refusing)
  local best, bestRemaining, bestLimit, bestReset = 0, nil, 0, 0
  for r = 3, #ARGV - 1, 2 do
    local rule = (r - 3) / 2
    if refusing == nil or refusing == rule then
      local remaining, limit, reset = quota(rule)
      if bestRemaining == nil or remaining < bestRemaining then
        best, bestRemaining, bestLimit, bestReset = rule, remaining, limit, reset
      end
    end
  end
  return { admitted, value, best, bestLimit, bestRemaining, bestReset }
end

for r = 3, #ARGV - 1, 2 do
  local limit = tonumber(ARGV[r])
  local window = tonumber(ARGV[r + 1])
  local rule = (r - 3) / 2
  if weight > limit then return answer(0, -1, rule) end
  if window > longest then longest = window end
  local unit = rcall('LINDEX', key, limit - weight)
  if unit then
    local wait = tonumber(string.sub(unit, 1, 13)) + window - now
    if wait > retry then
      retry = wait
      worst = rule
    end
  end
end
if retry > 0 then return answer(0, retry, worst) end
if ARGV[1] == '' then
  -- Peek: what remains after this weight would be taken.
  local out = answer(1, now, nil)
  out[5] = math.max(0, out[5] - weight)
  return out
end

local member = now .. ':' .. ARGV[1]
local units = {}
for i = 1, weight do units[i] = member end
local keep = tonumber(ARGV[#ARGV])
-- Every unit still inside the longest window is among the newest `keep` (its rule admitted them): the rest
-- have expired for every rule.
if rcall('LPUSH', key, unpack(units)) > keep then rcall('LTRIM', key, 0, keep - 1) end
rcall('PEXPIRE', key, longest)
return answer(1, now, nil)
