-- wrk script for Agent-style decide: POST /v1/decide with the SDK key from
-- BENCH_SDK_KEY and a new user id on every request (BENCH_PREFIX-thread-n),
-- so every decide is a new visitor and its impressions can be counted.
-- done() prints one JSON line the benchmark reads.
local key = os.getenv("BENCH_SDK_KEY")
local prefix = os.getenv("BENCH_PREFIX") or "u"
-- BENCH_OPTIONS: a JSON array of decide options, e.g. ["DISABLE_DECISION_EVENT"].
local options = os.getenv("BENCH_OPTIONS") or "[]"
local headers = { ["Content-Type"] = "application/json", ["X-Optimizely-SDK-Key"] = key }
threads = 0
tid = 0
local n = 0

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

request = function()
  n = n + 1
  return wrk.format("POST", "/v1/decide", headers,
    '{"userId":"' .. prefix .. "-" .. tid .. "-" .. n .. '","decideOptions":' .. options .. '}')
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"bad_status":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
