-- wirebus: register a stream in the set of streams, within max-streams counted over every broker.
-- KEYS[1] the set of stream names
-- ARGV: stream name, max streams (0 = no limit)
-- Returns {'OLD', count} when it was there, {'NEW', count} when added, {'LIMIT', count} when full.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {'OLD', redis.call('SCARD', KEYS[1])}
end
local max = tonumber(ARGV[2])
local n = redis.call('SCARD', KEYS[1])
if max > 0 and n >= max then
  return {'LIMIT', n}
end
redis.call('SADD', KEYS[1], ARGV[1])
return {'NEW', n + 1}
