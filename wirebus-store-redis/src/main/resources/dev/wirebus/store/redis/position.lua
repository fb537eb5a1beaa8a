-- wirebus: store a durable consumer's position; the acknowledged sequence never moves back.
-- KEYS[1] consumers (hash: consumer name -> "acked:maxLag"), KEYS[2] meta (its 'gen')
-- ARGV: consumer, acked, maxLag, events channel, stream name, generation the broker knows
-- Returns the stored acknowledged sequence, or 'GONE' (nothing stored) when the stream was deleted since.
local function num(x) return string.format('%.0f', x) end
if (redis.call('HGET', KEYS[2], 'gen') or '0') ~= ARGV[6] then
  return 'GONE'
end
local acked = tonumber(ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local a = tonumber(string.match(old, '^(%d+)'))
  if a > acked then acked = a end
end
redis.call('HSET', KEYS[1], ARGV[1], num(acked) .. ':' .. ARGV[3])
redis.call('PUBLISH', ARGV[4], 'k ' .. ARGV[5])
return num(acked)
