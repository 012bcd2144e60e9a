-- GET /api/v1/catalog/products: the catalog served from its Redis snapshot. The catalog is for signed-in
-- customers only, so every request carries a customer's access token from $ACCESS_TOKEN (15 minutes: longer
-- runs need a fresh one). Warm the snapshot first (one request, or POST /api/v1/admin/catalog/sync) so the
-- run measures cache hits, not Salesforce.
--   ACCESS_TOKEN=... wrk -t2 -c16 -d15s --latency -s scripts/bench/catalog.lua http://127.0.0.1:18080
local token = os.getenv("ACCESS_TOKEN")
if token == nil or token == "" then
  error("set ACCESS_TOKEN to a signed-in customer's access token")
end

wrk.method = "GET"
wrk.path = "/api/v1/catalog/products"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
