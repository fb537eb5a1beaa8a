-- wirebus: apply a stream's retention without an append (each second for streams with an age limit,
-- and TRIM_STREAM); idempotent, so several nodes may run it at once (docs/redis.md).
-- KEYS[1] log, KEYS[2] meta (hash: next, first, bytes, firstTime), as append.lua
-- ARGV: events channel, stream name, retention "messages bytes ageMillis" (0 = unlimited),
--       before (drop every batch that ends at or below it; 0 = none), the generation the broker knows
--       (meta 'gen', 0 when unset: a broker that missed a DELETE_STREAM must not trim the stream made anew)
-- Returns first retained sequence, retained bytes, '1' when more remains to drop (the bound was hit) else '0';
-- '0', '-1', '0' when the generation is not the stream's (nothing done).
-- The rules are retention.lua's dropFront, which append.lua applies too.
local limits = {}
for x in string.gmatch(ARGV[3], '%d+') do limits[#limits + 1] = tonumber(x) end
local retention = limits[1] or 0
local maxBytes = limits[2] or 0
local maxAge = limits[3] or 0
local before = tonumber(ARGV[4])
if (redis.call('HGET', KEYS[2], 'gen') or '0') ~= ARGV[5] then
  return {'0', '-1', '0'}
end

local meta = redis.call('HMGET', KEYS[2], 'next', 'first', 'bytes', 'firstTime')
local next = tonumber(meta[1] or '1')
local first = tonumber(meta[2] or '1')
local bytes = tonumber(meta[3] or '0')
local firstTime = tonumber(meta[4] or '')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

if first >= next or not (before > first or (retention > 0 and next - first > retention)
    or (maxBytes > 0 and bytes > maxBytes) or (maxAge > 0 and (firstTime == nil or now - firstTime > maxAge))) then
  return {num(first), num(bytes), '0'}
end

local knownTime = firstTime
local dropped, more
first, bytes, firstTime, dropped, more = dropFront(KEYS[1], next, bytes, now, retention, maxBytes, maxAge, before)

if dropped then
  redis.call('HSET', KEYS[2], 'first', num(first), 'bytes', num(bytes))
  redis.call('PUBLISH', ARGV[1], 'a ' .. ARGV[2] .. ' ' .. num(next) .. ' ' .. num(first))
end
if firstTime ~= knownTime then
  if firstTime ~= nil then
    redis.call('HSET', KEYS[2], 'firstTime', num(firstTime))
  else
    redis.call('HDEL', KEYS[2], 'firstTime')
  end
end
return {num(first), num(bytes), more and '1' or '0'}
