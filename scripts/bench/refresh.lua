-- POST /api/v1/auth/refresh with real rotation: one connection per thread, each thread starting from its own
-- session's refresh token (from $TOKENS_FILE) and always presenting the token the last answer gave it.
local tokens = {}
local next_index = 1

function setup(thread)
  if #tokens == 0 then
    for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
  end
  thread:set("token", tokens[next_index])
  next_index = next_index + 1
end

function request()
  return wrk.format("POST", "/api/v1/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local fresh = body:match('"refresh_token":"([^"]+)"')
    if fresh then token = fresh end
  end
end
