-- wirebus: append one batch to a stream, atomically (docs/redis.md).
-- KEYS[1] log (a Redis stream; entry id <first sequence>-0 per batch)
-- KEYS[2] meta (hash: next, first)
-- KEYS[3] producers (hash: producer id -> "last;ps,first,count;...", the last 32 batches)
-- KEYS[4] consumers (hash: consumer name -> "acked:maxLag")
-- ARGV: count, records, expected (0 = none), producer id ("" = none), producer sequence,
--       retention messages (0 = unlimited), events channel, stream name, remembered batches
-- Returns {'OK', first, firstRetained} | {'DUP', first, count} | {'MISMATCH', last}
--       | {'PSEQ', last, oldestRemembered} | {'GATED', consumer, lag, maxLag}
local count = tonumber(ARGV[1])
local expected = tonumber(ARGV[3])
local pid = ARGV[4]
local pseq = tonumber(ARGV[5])
local retention = tonumber(ARGV[6])
local remembered = tonumber(ARGV[9])
local function num(x) return string.format('%.0f', x) end

local next = tonumber(redis.call('HGET', KEYS[2], 'next') or '1')

local pstate
if pid ~= '' then
  pstate = redis.call('HGET', KEYS[3], pid)
  if pstate then
    local last = nil
    local batches = {}
    for part in string.gmatch(pstate, '[^;]+') do
      if last == nil then
        last = tonumber(part)
      else
        local a, b, c = string.match(part, '(%d+),(%d+),(%d+)')
        batches[#batches + 1] = {tonumber(a), tonumber(b), tonumber(c)}
      end
    end
    if pseq <= last then
      for i = 1, #batches do
        if batches[i][1] == pseq then
          return {'DUP', num(batches[i][2]), num(batches[i][3])}
        end
      end
      local oldest = last
      if #batches > 0 then oldest = batches[1][1] end
      return {'PSEQ', num(last), num(oldest)}
    end
  end
end

if expected ~= 0 and expected ~= next then
  return {'MISMATCH', num(next - 1)}
end

local last = next - 1
local consumers = redis.call('HGETALL', KEYS[4])
for i = 1, #consumers, 2 do
  local acked, maxLag = string.match(consumers[i + 1], '(%d+):(%d+)')
  acked = tonumber(acked)
  maxLag = tonumber(maxLag)
  if maxLag > 0 and last > acked and last + count - acked > maxLag then
    return {'GATED', consumers[i], num(last - acked), num(maxLag)}
  end
end

redis.call('XADD', KEYS[1], num(next) .. '-0', 'n', ARGV[1], 'r', ARGV[2], 'p', pid, 'q', ARGV[5])
local newNext = next + count
redis.call('HSET', KEYS[2], 'next', num(newNext))

if pid ~= '' then
  local parts = {}
  if pstate then
    local skip = true
    for part in string.gmatch(pstate, '[^;]+') do
      if skip then skip = false else parts[#parts + 1] = part end
    end
  end
  parts[#parts + 1] = num(pseq) .. ',' .. num(next) .. ',' .. ARGV[1]
  while #parts > remembered do table.remove(parts, 1) end
  redis.call('HSET', KEYS[3], pid, num(pseq) .. ';' .. table.concat(parts, ';'))
end

local first = tonumber(redis.call('HGET', KEYS[2], 'first') or '1')
if retention > 0 and newNext - 1 - retention >= first then
  redis.call('XTRIM', KEYS[1], 'MINID', num(newNext - retention) .. '-0')
  local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #head > 0 then
    first = tonumber(string.match(head[1][1], '^(%d+)'))
  else
    first = newNext
  end
  redis.call('HSET', KEYS[2], 'first', num(first))
end

redis.call('PUBLISH', ARGV[7], 'a ' .. ARGV[8] .. ' ' .. num(newNext) .. ' ' .. num(first))
return {'OK', num(next), num(first)}
