//! Brute-force defence for logins, shared by every replica through Redis: failures are counted per account
//! and per client address; past a threshold each further failure locks the key for an exponentially longer
//! time. When Redis is unreachable the same rules run in this process (fail safe: still limited, per replica).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use deadpool_redis::redis;

use crate::cache::Cache;
use crate::config::AuthSettings;

pub struct LoginLimiter {
    cache: Cache,
    per_account: u32,
    per_ip: u32,
    base: Duration,
    max: Duration,
    window: Duration,
    fallback: Mutex<HashMap<String, LocalEntry>>,
}

#[derive(Clone, Copy)]
struct LocalEntry {
    failures: u32,
    window_started: Instant,
    locked_until: Option<Instant>,
}

impl LoginLimiter {
    pub fn new(cache: Cache, settings: &AuthSettings) -> Self {
        Self {
            cache,
            per_account: settings.login_failures_per_account.max(1),
            per_ip: settings.login_failures_per_ip.max(1),
            base: Duration::from_secs(settings.lockout_base_secs.max(1)),
            max: Duration::from_secs(settings.lockout_max_secs.max(1)),
            window: Duration::from_secs(settings.failure_window_secs.max(1)),
            fallback: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, email: &str, ip: Option<&str>) -> Vec<(String, u32)> {
        // Emails are hashed so Redis never holds them in clear.
        let account = digest::digest(&digest::SHA256, email.as_bytes());
        let account: String = account.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut keys = vec![(format!("auth:login:account:{account}"), self.per_account)];
        if let Some(ip) = ip {
            keys.push((format!("auth:login:ip:{ip}"), self.per_ip));
        }
        keys
    }

    /// `Err(retry_after)` while the account or the address is locked.
    pub async fn check(&self, email: &str, ip: Option<&str>) -> Result<(), Duration> {
        let mut longest = Duration::ZERO;
        for (key, _) in self.keys(email, ip) {
            let lock = self.cache.key(&format!("{key}:lock"));
            let remaining = self
                .cache
                .run(|mut conn| async move {
                    redis::cmd("PTTL")
                        .arg(&lock)
                        .query_async::<i64>(&mut conn)
                        .await
                })
                .await;
            let remaining = match remaining {
                Ok(ms) if ms > 0 => Duration::from_millis(ms as u64),
                Ok(_) => Duration::ZERO,
                Err(_) => self.local_lock(&key),
            };
            longest = longest.max(remaining);
        }
        if longest.is_zero() {
            Ok(())
        } else {
            Err(longest)
        }
    }

    pub async fn record_failure(&self, email: &str, ip: Option<&str>) {
        for (key, threshold) in self.keys(email, ip) {
            let fails = self.cache.key(&format!("{key}:fails"));
            let window = self.window.as_secs();
            let count = self
                .cache
                .run(|mut conn| async move {
                    let (count,): (u32,) = redis::pipe()
                        .atomic()
                        .incr(&fails, 1)
                        .cmd("EXPIRE")
                        .arg(&fails)
                        .arg(window)
                        .arg("NX")
                        .ignore()
                        .query_async(&mut conn)
                        .await?;
                    Ok(count)
                })
                .await;
            match count {
                Ok(count) if count >= threshold => {
                    let lock = self.cache.key(&format!("{key}:lock"));
                    let duration = self.lockout(count - threshold).as_millis() as u64;
                    let locked = self
                        .cache
                        .run(|mut conn| async move {
                            redis::cmd("SET")
                                .arg(&lock)
                                .arg(1)
                                .arg("PX")
                                .arg(duration)
                                .query_async::<()>(&mut conn)
                                .await
                        })
                        .await;
                    if locked.is_err() {
                        self.local_failure(&key, threshold);
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "login limiter: Redis unavailable, limiting in process");
                    self.local_failure(&key, threshold);
                }
            }
        }
    }

    /// A successful login clears the account's failures (not the address's: one good password must not
    /// reset an attacker's budget against other accounts).
    pub async fn record_success(&self, email: &str) {
        let keys = self.keys(email, None);
        let Some((key, _)) = keys.first() else { return };
        let fails = self.cache.key(&format!("{key}:fails"));
        let lock = self.cache.key(&format!("{key}:lock"));
        let _ = self
            .cache
            .run(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&fails)
                    .arg(&lock)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if let Ok(mut entries) = self.fallback.lock() {
            entries.remove(key);
        }
    }

    /// base · 2^n, capped.
    fn lockout(&self, beyond_threshold: u32) -> Duration {
        let factor = 1u32
            .checked_shl(beyond_threshold.min(20))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    fn local_lock(&self, key: &str) -> Duration {
        let now = Instant::now();
        self.fallback
            .lock()
            .ok()
            .and_then(|entries| entries.get(key).and_then(|entry| entry.locked_until))
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    fn local_failure(&self, key: &str, threshold: u32) {
        let now = Instant::now();
        let Ok(mut entries) = self.fallback.lock() else {
            return;
        };
        let entry = entries.entry(key.to_owned()).or_insert(LocalEntry {
            failures: 0,
            window_started: now,
            locked_until: None,
        });
        if now.duration_since(entry.window_started) > self.window {
            *entry = LocalEntry {
                failures: 0,
                window_started: now,
                locked_until: None,
            };
        }
        entry.failures += 1;
        if entry.failures >= threshold {
            entry.locked_until = Some(now + self.lockout(entry.failures - threshold));
        }
    }
}
