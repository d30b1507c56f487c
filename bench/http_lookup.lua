-- wrk script: POST /v1/tables/forecasts:lookup with a random key of the
-- `predstore-load sample` table of ROWS rows (default 200k), as
-- predstore-loadgen --mode=lookup picks them. Used by bench/run_http_vs_grpc.sh.
local rows = tonumber(os.getenv("ROWS") or "200000")
math.randomseed(7)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local index = math.random(0, rows - 1)
  local store = math.floor(index / 7000) + 1
  local item = math.floor(index / 14) % 500 + 1000
  local horizon = index % 14 + 1
  local body = string.format('{"key":[{"column":"store_id","value":{"int64Value":"%d"}},{"column":"item_id","value":{"int64Value":"%d"}},{"column":"horizon_days","value":{"int64Value":"%d"}}]}', store, item, horizon)
  return wrk.format(nil, "/v1/tables/forecasts:lookup", nil, body)
end
