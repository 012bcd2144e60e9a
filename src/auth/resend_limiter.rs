//! How often verification links may be resent: a fixed window per account and per client address, shared by
//! every replica through Redis (one atomic INCR+EXPIRE per key, so concurrent requests cannot slip past the
//! count). When Redis is unreachable the same windows are counted in this process: still limited, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_redis::redis;
use uuid::Uuid;

use crate::cache::Cache;
use crate::config::AuthSettings;

pub struct ResendLimiter {
    cache: Cache,
    per_account: u32,
    per_ip: u32,
    window: Duration,
    fallback: Mutex<HashMap<String, (u32, Instant)>>,
}

impl ResendLimiter {
    pub fn new(cache: Cache, settings: &AuthSettings) -> Self {
        Self {
            cache,
            per_account: settings.verification_resends_per_account,
            per_ip: settings.verification_resends_per_ip,
            window: Duration::from_secs(settings.verification_resend_window_secs.max(1)),
            fallback: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one resend for the account and the address; `Err(retry_after)` once either is over its limit
    /// for the current window.
    pub async fn hit(&self, user_id: Uuid, ip: Option<&str>) -> Result<(), Duration> {
        let mut keys = vec![(format!("auth:resend:account:{user_id}"), self.per_account)];
        if let Some(ip) = ip {
            keys.push((format!("auth:resend:ip:{ip}"), self.per_ip));
        }
        let mut wait = Duration::ZERO;
        for (key, limit) in keys {
            let (count, ttl) = self.count(&key).await;
            if count > limit {
                wait = wait.max(ttl);
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    async fn count(&self, key: &str) -> (u32, Duration) {
        let redis_key = self.cache.key(key);
        let window = self.window.as_secs();
        let counted = self
            .cache
            .run(|mut conn| async move {
                let (count, ttl): (u32, i64) = redis::pipe()
                    .atomic()
                    .incr(&redis_key, 1)
                    .cmd("EXPIRE")
                    .arg(&redis_key)
                    .arg(window)
                    .arg("NX")
                    .ignore()
                    .cmd("TTL")
                    .arg(&redis_key)
                    .query_async(&mut conn)
                    .await?;
                Ok((count, ttl))
            })
            .await;
        match counted {
            Ok((count, ttl)) => (
                count,
                Duration::from_secs(u64::try_from(ttl).unwrap_or(1).max(1)),
            ),
            Err(error) => {
                tracing::warn!(%error, "resend limiter: Redis unavailable, limiting in process");
                self.count_locally(key)
            }
        }
    }

    fn count_locally(&self, key: &str) -> (u32, Duration) {
        let now = Instant::now();
        let Ok(mut entries) = self.fallback.lock() else {
            // A poisoned lock: refuse rather than count nothing.
            return (u32::MAX, self.window);
        };
        entries.retain(|_, (_, started)| now.duration_since(*started) < self.window);
        let (count, started) = entries.entry(key.to_owned()).or_insert((0, now));
        *count = count.saturating_add(1);
        (
            *count,
            self.window.saturating_sub(now.duration_since(*started)),
        )
    }
}
