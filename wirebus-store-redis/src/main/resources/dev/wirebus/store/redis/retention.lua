-- wirebus: the retention rule shared by append.lua and retain.lua; LuaScript puts this file in front
-- of each of them (a script sent to Redis is one chunk: it cannot load another).
local function num(x) return string.format('%.0f', x) end

-- Drops whole batches from the front of stream `log` (entries with fields n, b, t), oldest first, while:
-- the batch ends at or below `before` (TRIM_STREAM; 0 = none), or it is older than `maxAge` ms by
-- Redis' clock `now`, or (never the newest batch) more than `retention` records or `maxBytes` bytes
-- are retained. `next` is the stream's next sequence, `bytes` its retained bytes before. At most 1024
-- batches per call (the next append or sweep goes on).
-- Returns the first retained sequence, the retained bytes, the first retained batch's time (nil when
-- unknown or the stream is empty), whether any batch was dropped, whether the bound stopped it.
local function dropFront(log, next, bytes, now, retention, maxBytes, maxAge, before)
  local first, firstTime = next, nil
  local from = '-'
  local dropped = 0
  local cut = nil
  local more = false
  while true do
    if dropped >= 1024 then more = true; break end
    local head = redis.call('XRANGE', log, from, '+', 'COUNT', 1)
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
  if cut ~= nil then redis.call('XTRIM', log, 'MINID', num(cut) .. '-0') end
  return first, bytes, firstTime, cut ~= nil, more
end

