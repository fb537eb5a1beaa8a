-- wrk script: every request is a POST of a 100-byte body to one stream, on kept-alive connections.
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/publish.lua http://127.0.0.1:7480
-- WRK_STREAM (default bench.http) and WRK_SIZE (default 100 bytes) change the stream and body size.
-- No response() callback on purpose: defining one makes wrk hand every response to Lua, which costs
-- wrk CPU on a machine where it shares the cores with the gateway. Refusals (429, 503) show in
-- wrk's own "Non-2xx or 3xx responses" line, which bench/http.sh checks.
local stream = os.getenv("WRK_STREAM") or "bench.http"
local size = tonumber(os.getenv("WRK_SIZE") or "100")

wrk.method = "POST"
wrk.path = "/v1/streams/" .. stream .. "/messages"
wrk.body = string.rep("x", size)
wrk.headers["Content-Type"] = "application/octet-stream"
