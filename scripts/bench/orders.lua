-- POST /api/v1/orders for the demo customer, a fresh Idempotency-Key per request: catalog check, WHMCS pay
-- methods, one Salesforce composite (Order + OrderItem) in the sandbox, and the order recorded.
local counter = 0

function setup(thread)
  math.randomseed(os.time() + math.random(1, 1000000))
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("ACCESS_TOKEN"),
    ["Idempotency-Key"] = "bench-" .. tid .. "-" .. counter,
  }, '{"items":[{"sku":"FIBER-1G","quantity":1}]}')
end
