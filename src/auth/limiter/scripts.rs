//! The Redis side of the login limiter: one script reserves an attempt (lock check, in-flight check and the
//! count, atomically), one settles it. Reserving before the password is verified is what makes the limit hold
//! under concurrency: a burst cannot slip in between "is it locked?" and "count this failure".

use std::sync::LazyLock;

use deadpool_redis::redis::Script;

/// KEYS: per scope `fails`, `lock` (account first, then the address), then the account's `inflight` set.
/// ARGV: scope count, window ms, attempt token, max in flight, in-flight expiry ms, lockout base ms, lockout
/// cap ms, then each scope's limit. Answers `{1, 0}` (reserved) or `{0, retry_after_ms}`.
///
/// The attempt that brings a count to its limit takes the lock itself (with its token as the value), so every
/// concurrent attempt is refused while it is verified; a success lifts only a lock it took.
pub static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local token = ARGV[3]
local max_in_flight = tonumber(ARGV[4])
local in_flight_ttl = tonumber(ARGV[5])
local base = tonumber(ARGV[6])
local cap = tonumber(ARGV[7])
local wait = 0
for i = 1, n do
  local ttl = redis.call('PTTL', KEYS[2 * i])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return {0, wait} end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local in_flight = KEYS[2 * n + 1]
redis.call('ZREMRANGEBYSCORE', in_flight, '-inf', now_ms - in_flight_ttl)
if redis.call('ZCARD', in_flight) >= max_in_flight then return {0, 1000} end
for i = 1, n do
  local fails = KEYS[2 * i - 1]
  local count = redis.call('INCR', fails)
  if redis.call('PTTL', fails) < 0 then redis.call('PEXPIRE', fails, window) end
  local limit = tonumber(ARGV[7 + i])
  if count >= limit then
    local ms = math.floor(math.min(base * 2 ^ math.min(count - limit, 20), cap))
    redis.call('SET', KEYS[2 * i], token, 'PX', math.max(ms, 1))
  end
end
redis.call('ZADD', in_flight, now_ms, token)
redis.call('PEXPIRE', in_flight, in_flight_ttl)
return {1, 0}
",
    )
});

/// KEYS: `inflight`, the account's `fails` and `lock`, then (optional) the address's `fails` and `lock`.
/// ARGV: attempt token, `1` when the password was right. A failure keeps its reservation (it is a counted
/// failure); a success clears the account (as a successful login always has) and gives the address its
/// reservation back, lifting the address lock only when this attempt took it.
pub static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3])
  if #KEYS >= 5 then
    if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
    if tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then redis.call('DECR', KEYS[4]) end
  end
end
return 1
",
    )
});
