-- wirebus: delete a stream's keys in its slot, atomically (DELETE_STREAM, docs/redis.md).
-- KEYS[1] log, KEYS[2] meta, KEYS[3] producers, KEYS[4] consumers (one hash tag, one Cluster slot)
-- ARGV: the generation of the stream the deleting broker knows (meta 'gen', 0 when unset)
-- The meta hash keeps only 'gen', one more than before: a broker whose log is of an older generation
-- has its appends and positions refused ('GONE') and its reads noticed, and drops that log.
-- Returns {'OK', new generation}, or {'GONE', generation} when the stream the broker knows was deleted
-- already (by another broker): nothing is deleted then.
local function num(x) return string.format('%.0f', x) end
local gen = redis.call('HGET', KEYS[2], 'gen') or '0'
if gen ~= ARGV[1] then
  return {'GONE', gen}
end
local fresh = num(tonumber(gen) + 1)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[2], 'gen', fresh)
return {'OK', fresh}
