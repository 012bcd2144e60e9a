-- GET /api/v1/billing/invoices for a signed-in customer linked to the sandbox's demo WHMCS client: every
-- request goes through auth, the customer's links and a GetInvoices call to WHMCS (the sandbox).
-- ACCESS_TOKEN is a customer access token (15 minutes: obtain it right before the run).
wrk.method = "GET"
wrk.path = "/api/v1/billing/invoices"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCESS_TOKEN")
wrk.headers["Accept"] = "application/json"
