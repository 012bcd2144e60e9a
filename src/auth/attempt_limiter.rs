//! How often an account may try something that is not a login (resend its verification link, prove its
//! email with WHMCS credentials): a fixed window per account and per client address, shared by every replica
//! through Redis (one atomic INCR+EXPIRE per key, so concurrent requests cannot slip past the
//! count). When Redis is unreachable the same windows are counted in this process: still limited, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_redis::redis;
use uuid::Uuid;

use crate::cache::Cache;
use crate::config::AuthSettings;

pub struct AttemptLimiter {
    cache: Cache,
    /// Names the keys: `auth:{name}:account:…`, `auth:{name}:ip:…`.
    name: &'static str,
    per_account: u32,
    per_ip: u32,
    window: Duration,
    fallback: Mutex<HashMap<String, (u32, Instant)>>,
}

impl AttemptLimiter {
    pub fn new(
        cache: Cache,
        name: &'static str,
        per_account: u32,
        per_ip: u32,
        window_secs: u64,
    ) -> Self {
        Self {
            cache,
            name,
            per_account,
            per_ip,
            window: Duration::from_secs(window_secs.max(1)),
            fallback: Mutex::new(HashMap::new()),
        }
    }

    /// Verification resends.
    pub fn resends(cache: Cache, settings: &AuthSettings) -> Self {
        Self::new(
            cache,
            "resend",
            settings.verification_resends_per_account,
            settings.verification_resends_per_ip,
            settings.verification_resend_window_secs,
        )
    }

    /// Proofs of ownership with WHMCS credentials: each is a password guess against WHMCS.
    pub fn whmcs_proofs(cache: Cache, settings: &AuthSettings) -> Self {
        Self::new(
            cache,
            "whmcs-proof",
            settings.whmcs_proofs_per_account,
            settings.whmcs_proofs_per_ip,
            settings.whmcs_proof_window_secs,
        )
    }

    /// Counts one attempt for the account and the address; `Err(retry_after)` once either is over its limit
    /// for the current window.
    pub async fn hit(&self, user_id: Uuid, ip: Option<&str>) -> Result<(), Duration> {
        let name = self.name;
        let mut keys = vec![(format!("auth:{name}:account:{user_id}"), self.per_account)];
        if let Some(ip) = ip {
            keys.push((format!("auth:{name}:ip:{ip}"), self.per_ip));
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
                tracing::warn!(%error, name = self.name, "attempt limiter: Redis unavailable, limiting in process");
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
