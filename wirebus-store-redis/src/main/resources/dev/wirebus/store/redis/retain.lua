-- wirebus: apply a stream's retention without an append (each second for streams with an age limit,
-- and TRIM_STREAM); idempotent, so several nodes may run it at once (docs/redis.md).
-- KEYS[1] log, KEYS[2] meta (hash: next, first, bytes, firstTime), as append.lua
-- ARGV: events channel, stream name, retention "messages bytes ageMillis" (0 = unlimited),
--       before (drop every batch that ends at or below it; 0 = none), the generation the broker knows
--       (meta 'gen', 0 when unset: a broker that missed a DELETE_STREAM must not trim the stream made anew)
-- Returns first retained sequence, retained bytes, '1' when more remains to drop (the bound was hit) else '0';
-- '0', '-1', '0' when the generation is not the stream's (nothing done).
-- The rules are append.lua's (keep the two in step): whole batches from the front, while more than
-- `retention` records or `maxBytes` bytes are retained (the newest batch stays), or the batch is older
-- than `maxAge` ms by Redis' clock, or it ends at or below `before`; at most 1024 batches per call.
local limits = {}
for x in string.gmatch(ARGV[3], '%d+') do limits[#limits + 1] = tonumber(x) end
local retention = limits[1] or 0
local maxBytes = limits[2] or 0
local maxAge = limits[3] or 0
local before = tonumber(ARGV[4])
local function num(x) return string.format('%.0f', x) end
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
local from = '-'
local dropped = 0
local cut = nil
local more = '0'
while true do
  if dropped >= 1024 then more = '1'; break end
  local head = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 1)
  if #head == 0 then first = next; firstTime = nil; break end
  local f = tonumber(string.match(head[1][1], '^(%d+)'))
  local n, b, t = 0, 0, nil
  local fields = head[1][2]
  for j = 1, #fields, 2 do
    if fields[j] == 'n' then n = tonumber(fields[j + 1])
    elseif fields[j] == 'b' then b = tonumber(fields[j + 1])
    elseif fields[j] == 't' then t = tonumber(fields[j + 1]) end
  end
  first = f
  firstTime = t
  local newest = f + n >= next
  if not (f + n <= before or (maxAge > 0 and t ~= nil and now - t > maxAge) or (not newest and ((retention > 0
      and next - f > retention) or (maxBytes > 0 and bytes > maxBytes)))) then break end
  bytes = bytes - b
  first = f + n
  firstTime = nil
  cut = f + n
  dropped = dropped + 1
  from = '(' .. head[1][1]
end

if cut ~= nil then
  redis.call('XTRIM', KEYS[1], 'MINID', num(cut) .. '-0')
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
return {num(first), num(bytes), more}
