--[[
  Checks a verification code in one step: compares the submitted hash with the stored one in constant time,
  counts wrong attempts, uses the code up on success, and voids it after too many wrong attempts (the void
  record stays until the code's expiry, so further checks keep being refused).

  KEYS[1] the phone's code: hash { hash = HMAC of the code, wrong = wrong attempts so far }, expires with the code

  ARGV[1] HMAC of the submitted code (hex), ARGV[2] wrong attempts that void the code

  Output: {1, 0} valid (the code is deleted)
          {0, attempts left} wrong
          {-1, 0} no active code (never sent, expired or used)
          {-2, 0} void: too many wrong attempts
]]
local rcall = redis.call
local stored = rcall('HMGET', KEYS[1], 'hash', 'wrong')
local expected = stored[1]
if not expected then return { -1, 0 } end
local max = tonumber(ARGV[2])
local wrong = tonumber(stored[2] or '0')
if wrong >= max then return { -2, 0 } end

-- Constant time: every byte is compared whatever the first difference, so timing says nothing about it.
local given = ARGV[1]
local diff = (#given == #expected) and 0 or 1
for i = 1, #expected do
  diff = bit.bor(diff, bit.bxor(string.byte(expected, i), string.byte(given, i) or 0))
end
if diff == 0 then
  rcall('DEL', KEYS[1])
  return { 1, 0 }
end
wrong = rcall('HINCRBY', KEYS[1], 'wrong', 1)
return { 0, max - wrong }
