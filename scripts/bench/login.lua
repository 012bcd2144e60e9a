-- POST /api/v1/auth/login for the benchmark user (argon2id on every request).
wrk.method = "POST"
wrk.path = "/api/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@concierge.test","password":"bench-passphrase-not-common"}'
