//! The token bucket delivery jobs share across replicas: one Redis hash per key (a campaign, or a brand's
//! channel), refilled at the current rate and spent by one Lua script, so every replica draws from the same
//! tokens. It adapts: a 429 pauses the bucket until `Retry-After` (1 s when absent) and halves its rate (not
//! below `min_rate`); the rate then grows back by `recover_per_sec` each second up to the configured rate.
//! Time comes from the caller's [`Clock`], so tests drive seconds of sending in milliseconds.
//!
//! Without Redis each process falls back to a bucket of its own at `fallback_share` of the rate (the same
//! rule, in memory): replicas no longer share, so each takes a share instead of the whole rate.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::Script;
use uuid::Uuid;

use super::clock::Clock;
use crate::cache::Cache;
use crate::config::ThrottleSettings;

/// Whose bucket: one campaign's, or one brand's channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    pub fn campaign(id: Uuid) -> Self {
        Self(format!("campaign:{id}"))
    }

    pub fn channel(brand_id: Uuid, channel: super::MessageChannel) -> Self {
        Self(format!("brand:{brand_id}:{}", channel.as_str()))
    }
}

/// Send one now, or wait this long first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    Go,
    Wait(Duration),
}

/// The longest pause a `Retry-After` buys (the shared bucket expires an hour after its last change anyway):
/// a provider's hostile or mistaken value (years, `u64::MAX` seconds) neither overflows nor stops a campaign
/// for good.
pub const MAX_PAUSE_MS: i64 = 3_600_000;

/// The fastest rate a bucket runs at, messages per second.
pub const MAX_RATE: f64 = 100_000.0;
/// The slowest: a rate of 0, negative or NaN (a misconfigured campaign) waits this long between messages
/// rather than dividing by zero or reaching the script as `nan` (which Lua cannot read back).
pub const MIN_RATE: f64 = 0.001;

/// The rate a bucket may run at: finite, within [`MIN_RATE`]–[`MAX_RATE`] (infinity is the fastest).
pub fn bounded(rate: f64) -> f64 {
    if rate.is_nan() {
        MIN_RATE
    } else {
        rate.clamp(MIN_RATE, MAX_RATE)
    }
}

/// A bucket's state, in Redis or in memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub at_ms: i64,
    pub rate: f64,
    pub paused_until_ms: i64,
}

/// The rule both the script and the fallback follow: refill, recover, then take one token.
pub fn take(
    bucket: Option<Bucket>,
    now_ms: i64,
    target: f64,
    settings: &ThrottleSettings,
) -> (Bucket, Permit) {
    let mut b = bucket.unwrap_or(Bucket {
        tokens: 1.0,
        at_ms: now_ms,
        rate: target,
        paused_until_ms: 0,
    });
    if now_ms < b.paused_until_ms {
        let wait = u64::try_from(b.paused_until_ms - now_ms).unwrap_or(0);
        return (b, Permit::Wait(Duration::from_millis(wait)));
    }
    let from = b.at_ms.max(b.paused_until_ms);
    let elapsed = (now_ms - from).max(0) as f64 / 1000.0;
    if b.rate < target {
        b.rate = (b.rate + settings.recover_per_sec * elapsed).min(target);
    }
    b.rate = b.rate.min(target).max(settings.min_rate.min(target));
    let capacity = (b.rate * settings.burst_secs).max(1.0);
    b.tokens = (b.tokens + elapsed * b.rate).min(capacity);
    b.at_ms = now_ms.max(b.at_ms);
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        (b, Permit::Go)
    } else {
        let wait_ms = ((1.0 - b.tokens) / b.rate * 1000.0).ceil().max(1.0) as u64;
        (b, Permit::Wait(Duration::from_millis(wait_ms)))
    }
}

/// A 429: pause until `retry_after` and halve the rate.
pub fn penalize(
    bucket: Option<Bucket>,
    now_ms: i64,
    target: f64,
    retry_after_ms: i64,
    settings: &ThrottleSettings,
) -> Bucket {
    let b = bucket.unwrap_or(Bucket {
        tokens: 0.0,
        at_ms: now_ms,
        rate: target,
        paused_until_ms: 0,
    });
    Bucket {
        tokens: 0.0,
        at_ms: now_ms,
        rate: (b.rate / 2.0).max(settings.min_rate.min(target)),
        paused_until_ms: b.paused_until_ms.max(now_ms.saturating_add(retry_after_ms)),
    }
}

/// KEYS[1] the bucket; ARGV now_ms, target rate, burst_secs, min_rate, recover_per_sec. Mirrors [`take`];
/// answers {granted, wait_ms, rate in milli-messages per second}.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local target = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local min_rate = math.min(tonumber(ARGV[4]), target)
local recover = tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'rate', 'paused')
local tokens = tonumber(h[1]) or 1
local at = tonumber(h[2]) or now
local rate = tonumber(h[3]) or target
local paused = tonumber(h[4]) or 0
if now < paused then
  return {0, paused - now, math.floor(rate * 1000)}
end
local elapsed = math.max(0, now - math.max(at, paused)) / 1000
if rate < target then rate = math.min(target, rate + recover * elapsed) end
rate = math.max(math.min(rate, target), min_rate)
local capacity = math.max(1, rate * burst)
tokens = math.min(capacity, tokens + elapsed * rate)
at = math.max(now, at)
local granted = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  granted = 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate * 1000))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at), 'rate', tostring(rate), 'paused', tostring(paused))
redis.call('PEXPIRE', KEYS[1], 3600000)
return {granted, wait, math.floor(rate * 1000)}
",
    )
});

/// KEYS[1] the bucket; ARGV now_ms, target rate, retry_after_ms, min_rate. Mirrors [`penalize`].
static PENALIZE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local target = tonumber(ARGV[2])
local min_rate = math.min(tonumber(ARGV[4]), target)
local h = redis.call('HMGET', KEYS[1], 'rate', 'paused')
local rate = tonumber(h[1]) or target
local paused = tonumber(h[2]) or 0
rate = math.max(rate / 2, min_rate)
paused = math.max(paused, now + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'tokens', '0', 'at', tostring(now), 'rate', tostring(rate), 'paused', tostring(paused))
redis.call('PEXPIRE', KEYS[1], 3600000)
return math.floor(rate * 1000)
",
    )
});

#[derive(Clone)]
pub struct Throttle {
    cache: Cache,
    settings: ThrottleSettings,
    clock: Clock,
    local: Arc<Mutex<HashMap<ThrottleKey, Bucket>>>,
}

impl Throttle {
    pub fn new(cache: Cache, settings: ThrottleSettings, clock: Clock) -> Self {
        Self {
            cache,
            settings,
            clock,
            local: Arc::default(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn redis_key(&self, key: &ThrottleKey) -> String {
        self.cache.key(&format!("crm:throttle:{}", key.0))
    }

    /// One token of `key`'s bucket at `rate` messages per second: go, or wait.
    pub async fn acquire(&self, key: &ThrottleKey, rate: f64) -> Permit {
        let rate = bounded(rate);
        let now = self.now_ms();
        let redis_key = self.redis_key(key);
        let s = &self.settings;
        let answer: Result<(i64, i64, i64), _> = self
            .cache
            .run(|mut conn| async move {
                TAKE.key(redis_key)
                    .arg(now)
                    .arg(rate)
                    .arg(s.burst_secs)
                    .arg(s.min_rate)
                    .arg(s.recover_per_sec)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match answer {
            Ok((1, _, _)) => Permit::Go,
            Ok((_, wait, _)) => {
                Permit::Wait(Duration::from_millis(u64::try_from(wait).unwrap_or(1)))
            }
            Err(error) => {
                tracing::warn!(%error, "the shared throttle is unreachable; this process throttles alone");
                self.local_take(key, rate * s.fallback_share, now)
            }
        }
    }

    /// The provider answered 429: pause `key` for `retry_after` (1 s when absent) and halve its rate.
    pub async fn rate_limited(&self, key: &ThrottleKey, rate: f64, retry_after: Option<Duration>) {
        let rate = bounded(rate);
        let now = self.now_ms();
        let pause = retry_after
            .map_or(1000, |d| {
                i64::try_from(d.as_millis()).unwrap_or(MAX_PAUSE_MS)
            })
            .clamp(0, MAX_PAUSE_MS);
        let redis_key = self.redis_key(key);
        let min_rate = self.settings.min_rate;
        let answer: Result<i64, _> = self
            .cache
            .run(|mut conn| async move {
                PENALIZE
                    .key(redis_key)
                    .arg(now)
                    .arg(rate)
                    .arg(pause)
                    .arg(min_rate)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        if let Err(error) = answer {
            tracing::warn!(%error, "the shared throttle is unreachable; pausing this process alone");
        }
        // The local bucket learns too, so a fallback after the 429 starts slow.
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = local.get(key).copied();
        local.insert(
            key.clone(),
            penalize(
                bucket,
                now,
                rate * self.settings.fallback_share,
                pause,
                &self.settings,
            ),
        );
    }

    /// The current rate of `key` (messages per second), for reports; `None` without Redis.
    pub async fn current_rate(&self, key: &ThrottleKey) -> Option<f64> {
        let redis_key = self.redis_key(key);
        let rate: Option<String> = self
            .cache
            .run(|mut conn| async move {
                deadpool_redis::redis::cmd("HGET")
                    .arg(redis_key)
                    .arg("rate")
                    .query_async(&mut conn)
                    .await
            })
            .await
            .ok()
            .flatten();
        rate.and_then(|rate| rate.parse().ok())
    }

    fn local_take(&self, key: &ThrottleKey, rate: f64, now: i64) -> Permit {
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = local.get(key).copied();
        let (bucket, permit) = take(bucket, now, rate, &self.settings);
        if local.len() > 10_000 {
            local.clear();
        }
        local.insert(key.clone(), bucket);
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ThrottleSettings {
        ThrottleSettings {
            min_rate: 1.0,
            recover_per_sec: 2.0,
            burst_secs: 1.0,
            fallback_share: 0.5,
        }
    }

    /// Sends as fast as the bucket allows for `secs` of simulated time; the messages granted.
    fn run(bucket: &mut Option<Bucket>, now: &mut i64, until: i64, rate: f64) -> u32 {
        let mut sent = 0;
        while *now < until {
            let (next, permit) = take(*bucket, *now, rate, &settings());
            *bucket = Some(next);
            match permit {
                Permit::Go => sent += 1,
                Permit::Wait(wait) => *now += i64::try_from(wait.as_millis()).unwrap_or(1),
            }
        }
        sent
    }

    #[test]
    fn the_rate_holds_within_five_percent() {
        for rate in [14.0, 100.0, 500.0] {
            let (mut bucket, mut now) = (None, 0);
            let sent = f64::from(run(&mut bucket, &mut now, 10_000, rate));
            let expected = rate * 10.0;
            assert!(
                (sent - expected).abs() <= expected * 0.05,
                "{rate}/s: {sent} in 10 s"
            );
        }
    }

    #[test]
    fn rates_are_finite_and_within_bounds() {
        assert_eq!(bounded(f64::NAN), MIN_RATE);
        assert_eq!(bounded(0.0), MIN_RATE);
        assert_eq!(bounded(-5.0), MIN_RATE);
        assert_eq!(bounded(f64::INFINITY), MAX_RATE);
        assert_eq!(bounded(f64::NEG_INFINITY), MIN_RATE);
        assert_eq!(bounded(14.0), 14.0);
    }

    #[test]
    fn a_429_pauses_halves_and_the_rate_recovers_additively() {
        let s = settings();
        let (mut bucket, mut now) = (None, 0);
        run(&mut bucket, &mut now, 1_000, 100.0);
        let penalized = penalize(bucket, now, 100.0, 2_000, &s);
        assert_eq!(penalized.rate, 50.0);
        assert_eq!(penalized.paused_until_ms, now + 2_000);
        let (_, permit) = take(Some(penalized), now + 1_000, 100.0, &s);
        assert_eq!(permit, Permit::Wait(Duration::from_millis(1_000)));
        // After the pause: 50/s growing by 2/s each second.
        let mut bucket = Some(penalized);
        let mut at = now + 2_000;
        let sent = run(&mut bucket, &mut at, now + 7_000, 100.0);
        let expected = (50.0 + 60.0) / 2.0 * 5.0;
        assert!(
            (f64::from(sent) - expected).abs() <= expected * 0.05,
            "{sent}"
        );
        assert!(bucket.is_some_and(|b| (b.rate - 60.0).abs() < 0.5));
        // Never below the floor.
        let mut low = penalized;
        for _ in 0..20 {
            low = penalize(Some(low), now, 100.0, 0, &s);
        }
        assert_eq!(low.rate, 1.0);
    }
}
