--[[
  Records a batch of views for items of one bucket in one call ("group commit": every view that arrived in
  the same event-loop turn), so each view costs a fraction of a round trip yet every count stays exact.

  KEYS[1] counts hash: item id -> live view count
  KEYS[2] pending hash: "<item id>:<day>" -> views not yet written to SQL
  KEYS[3] set of existing item ids of this bucket
  KEYS[4] all-time ranking (zset), KEYS[5] today's ranking, KEYS[6] this week's ranking, KEYS[7] this month's
  KEYS[8] trending ranking (log scores, see trending.ts)
  KEYS[8 + i] HyperLogLog of unique visitors of the i-th item in ARGV
  KEYS[8 + items + j] with dedupe on: the "seen" key of the j-th (item, visitor) pair, in ARGV order

  ARGV[1] day index, ARGV[2] day ranking ttl (s), ARGV[3] week ranking ttl (s), ARGV[4] month ranking ttl (s)
  ARGV[5] dedupe window (s), 0 = every view counts; ARGV[6] ln of one view's trending weight now
  ARGV[7] number of items
  ARGV[8 ...] per item: item id, number of views n, number of visitors m, then the m visitor ids

  Output per item: {count after this batch, unique visitors, then with dedupe on one 1/0 per visitor: counted}
  or {-1, 0} for an unknown item.
]]
local rcall = redis.call
local window = tonumber(ARGV[5])
local logWeight = tonumber(ARGV[6])
local seen = 8 + tonumber(ARGV[7])
local out = {}
local a = 8
local i = 1
while a <= #ARGV do
  local id = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  local m = tonumber(ARGV[a + 2])
  local hll = KEYS[8 + i]
  if rcall('SISMEMBER', KEYS[3], id) == 1 then
    local row = { 0, 0 }
    if window > 0 then
      -- A visitor counts once per window: the first SET NX of the window wins, every later view is not counted.
      n = 0
      for j = 1, m do
        seen = seen + 1
        if rcall('SET', KEYS[seen], 1, 'NX', 'EX', window) then
          n = n + 1
          row[2 + j] = 1
        else
          row[2 + j] = 0
        end
      end
    end
    if n > 0 then
      row[1] = rcall('HINCRBY', KEYS[1], id, n)
      rcall('HINCRBY', KEYS[2], id .. ':' .. ARGV[1], n)
      rcall('ZINCRBY', KEYS[4], n, id)
      rcall('ZINCRBY', KEYS[5], n, id)
      rcall('ZINCRBY', KEYS[6], n, id)
      rcall('ZINCRBY', KEYS[7], n, id)
      -- Trending: score = ln(sum of weights); adding n views of weight e^logWeight is a log-add-exp.
      local w = math.log(n) + logWeight
      local s = tonumber(rcall('ZSCORE', KEYS[8], id))
      if s then
        local high, low = math.max(s, w), math.min(s, w)
        w = high + math.log(1 + math.exp(low - high))
      end
      rcall('ZADD', KEYS[8], string.format('%.17g', w), id)
    else
      row[1] = tonumber(rcall('HGET', KEYS[1], id) or '0')
    end
    if m > 0 then
      rcall('PFADD', hll, unpack(ARGV, a + 3, a + 2 + m))
    end
    row[2] = rcall('PFCOUNT', hll)
    out[i] = row
  else
    if window > 0 then seen = seen + m end
    out[i] = { -1, 0 }
  end
  a = a + 3 + m
  i = i + 1
end
-- NX: set the expiry once, when the period's key is first created, never push it back.
rcall('EXPIRE', KEYS[5], ARGV[2], 'NX')
rcall('EXPIRE', KEYS[6], ARGV[3], 'NX')
rcall('EXPIRE', KEYS[7], ARGV[4], 'NX')
return out
