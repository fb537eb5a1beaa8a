-- wirebus: append a group of publishes to one stream, each atomically, in order (docs/redis.md).
-- KEYS[1] log (a Redis stream; one entry per batch, id <first sequence>-0)
-- KEYS[2] meta (hash: next, first, bytes, firstTime; see the retention block at the end)
-- KEYS[3] producers (hash: producer id -> "last;ps,first,count;...", the last `remembered` batches)
-- KEYS[4] consumers (hash: consumer name -> "acked:maxLag")
-- ARGV: events channel, stream name, retention "messages bytes ageMillis" (0 = unlimited), remembered batches, K,
--       then K times: count, records, expected (0 = none), producer id ("" = none), producer sequence,
--       and last (ARGV[#ARGV]) the generation of the stream the broker knows (meta 'gen', 0 when unset)
-- Returns 4 values per publish: 'OK', first, firstRetained, '' | 'DUP', first, count, ''
--   | 'MISMATCH', last, '', '' | 'PSEQ', last, oldestRemembered, '' | 'GATED', consumer, lag, maxLag
--   | 'SKIPPED', '', '', '' (not tried: a publish before it was held by the gate)
--   or once for the whole group: 'GONE', generation, '', '' (the stream was deleted: nothing appended)
local limits = {}
for x in string.gmatch(ARGV[3], '%d+') do limits[#limits + 1] = tonumber(x) end
local retention = limits[1]
local maxBytes = limits[2] or 0
local maxAge = limits[3] or 0
local remembered = tonumber(ARGV[4])
local k = tonumber(ARGV[5])

local meta = redis.call('HMGET', KEYS[2], 'gen', 'next', 'first', 'bytes', 'firstTime')
local gen = meta[1] or '0'
if gen ~= ARGV[#ARGV] then
  return {'GONE', gen, '', ''}
end

local next = tonumber(meta[2] or '1')
local first = tonumber(meta[3] or '1')
local wasEmpty = first >= next
local now = nil
local added = 0
local consumers = nil
local out = {}
local appended = false
local gated = false

for i = 0, k - 1 do
  local base = 6 + i * 5
  local count = tonumber(ARGV[base])
  local records = ARGV[base + 1]
  local expected = tonumber(ARGV[base + 2])
  local pid = ARGV[base + 3]
  local pseq = tonumber(ARGV[base + 4])
  local verdict = nil

  if gated then
    verdict = {'SKIPPED', '', '', ''}
  end

  local pstate = nil
  if verdict == nil and pid ~= '' then
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
        for j = 1, #batches do
          if batches[j][1] == pseq then
            verdict = {'DUP', num(batches[j][2]), num(batches[j][3]), ''}
          end
        end
        if verdict == nil then
          local oldest = last
          if #batches > 0 then oldest = batches[1][1] end
          verdict = {'PSEQ', num(last), num(oldest), ''}
        end
      end
    end
  end

  if verdict == nil and expected ~= 0 and expected ~= next then
    verdict = {'MISMATCH', num(next - 1), '', ''}
  end

  if verdict == nil then
    if consumers == nil then consumers = redis.call('HGETALL', KEYS[4]) end
    local last = next - 1
    for j = 1, #consumers, 2 do
      local acked, maxLag = string.match(consumers[j + 1], '(%d+):(%d+)')
      acked = tonumber(acked)
      maxLag = tonumber(maxLag)
      if verdict == nil and maxLag > 0 and last > acked and last + count - acked > maxLag then
        verdict = {'GATED', consumers[j], num(last - acked), num(maxLag)}
        gated = true
      end
    end
  end

  if verdict == nil then
    if now == nil then
      local time = redis.call('TIME')
      now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    end
    redis.call('XADD', KEYS[1], num(next) .. '-0', 'n', num(count), 'r', records, 'p', pid, 'q', num(pseq),
      'b', num(#records), 't', num(now))
    added = added + #records
    if pid ~= '' then
      local parts = {}
      if pstate then
        local skip = true
        for part in string.gmatch(pstate, '[^;]+') do
          if skip then skip = false else parts[#parts + 1] = part end
        end
      end
      parts[#parts + 1] = num(pseq) .. ',' .. num(next) .. ',' .. num(count)
      while #parts > remembered do table.remove(parts, 1) end
      redis.call('HSET', KEYS[3], pid, num(pseq) .. ';' .. table.concat(parts, ';'))
    end
    verdict = {'OK', num(next), '', ''}
    next = next + count
    appended = true
  end

  for j = 1, 4 do out[#out + 1] = verdict[j] end
end

if appended then
  -- retention (retention.lua's dropFront): `bytes` is the sum of the retained entries' `b`,
  -- `firstTime` the `t` of the first retained entry
  local bytes = tonumber(meta[4] or '0') + added
  local firstTime = tonumber(meta[5] or '')
  if wasEmpty then firstTime = now end
  if (retention > 0 and next - first > retention) or (maxBytes > 0 and bytes > maxBytes)
      or (maxAge > 0 and (firstTime == nil or now - firstTime > maxAge)) then
    first, bytes, firstTime = dropFront(KEYS[1], next, bytes, now, retention, maxBytes, maxAge, 0)
  end
  if firstTime ~= nil then
    redis.call('HSET', KEYS[2], 'next', num(next), 'first', num(first), 'bytes', num(bytes), 'firstTime', num(firstTime))
  else
    redis.call('HSET', KEYS[2], 'next', num(next), 'first', num(first), 'bytes', num(bytes))
    redis.call('HDEL', KEYS[2], 'firstTime')
  end
  redis.call('PUBLISH', ARGV[1], 'a ' .. ARGV[2] .. ' ' .. num(next) .. ' ' .. num(first))
end
for j = 3, #out, 4 do
  if out[j - 2] == 'OK' then out[j] = num(first) end
end
return out
