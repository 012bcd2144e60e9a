//! Brute-force defence for logins, shared by every replica through Redis. An attempt is reserved before the
//! password is verified (one script: is the account or the address locked, are too many verifications of the
//! account in flight, then count it), so concurrent attempts cannot all pass a check made before any of them
//! was counted. The attempt that reaches a limit locks the key for an exponentially longer time; a success
//! clears the account. When Redis is unreachable the same rules run in this process (fail safe: still
//! limited, per replica).

mod actions;
mod local;
mod scripts;

pub use actions::{Action, ActionLimiter};

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;

use crate::cache::Cache;
use crate::config::AuthSettings;
use local::Local;

#[derive(Clone)]
pub struct LoginLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache,
    rules: Rules,
    local: Local,
}

#[derive(Clone, Copy)]
pub(super) struct Rules {
    per_account: u32,
    per_ip: u32,
    pub(super) base: Duration,
    max: Duration,
    pub(super) window: Duration,
    pub(super) in_flight: u32,
    /// An in-flight mark older than this is dropped (its replica died mid-verification).
    pub(super) in_flight_expiry: Duration,
}

impl Rules {
    /// base · 2^n, capped.
    pub(super) fn lockout(&self, beyond_limit: u32) -> Duration {
        let factor = 1u32.checked_shl(beyond_limit.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// A reserved login attempt: settle it with [`LoginAttempt::failed`] or [`LoginAttempt::succeeded`]. Dropped
/// unsettled (the client went away mid-verification), it counts as a failure.
pub struct LoginAttempt {
    inner: Arc<Inner>,
    account: String,
    ip: Option<String>,
    token: String,
    local: bool,
    settled: bool,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl LoginLimiter {
    pub fn new(cache: Cache, settings: &AuthSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                rules: Rules {
                    per_account: settings.login_failures_per_account.max(1),
                    per_ip: settings.login_failures_per_ip.max(1),
                    base: Duration::from_secs(settings.lockout_base_secs.max(1)),
                    max: Duration::from_secs(settings.lockout_max_secs.max(1)),
                    window: Duration::from_secs(settings.failure_window_secs.max(1)),
                    in_flight: settings.login_verifications_in_flight.max(1),
                    in_flight_expiry: Duration::from_secs(60),
                },
                local: Local::default(),
            }),
        }
    }

    /// Reserves an attempt for `email` (as typed, normalised) from `ip`; `Err(retry_after)` while the
    /// account or the address is locked, or the account already has its verifications in flight.
    pub async fn begin(&self, email: &str, ip: Option<&str>) -> Result<LoginAttempt, Duration> {
        // Emails are hashed so Redis never holds them in clear.
        let account = digest::digest(&digest::SHA256, email.as_bytes());
        let account: String = account.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut attempt = LoginAttempt {
            inner: Arc::clone(&self.inner),
            account: format!("auth:login:account:{account}"),
            ip: ip.map(|ip| format!("auth:login:ip:{ip}")),
            token: uuid::Uuid::new_v4().simple().to_string(),
            local: false,
            settled: false,
        };
        let inner = &self.inner;
        let rules = &inner.rules;
        let mut invocation = scripts::RESERVE.prepare_invoke();
        let scopes = attempt.scopes();
        for (key, _) in &scopes {
            invocation
                .key(inner.cache.key(&format!("{key}:fails")))
                .key(inner.cache.key(&format!("{key}:lock")));
        }
        invocation
            .key(inner.cache.key(&format!("{}:inflight", attempt.account)))
            .arg(scopes.len())
            .arg(millis(rules.window))
            .arg(&attempt.token)
            .arg(rules.in_flight)
            .arg(millis(rules.in_flight_expiry))
            .arg(millis(rules.base))
            .arg(millis(rules.max));
        for (_, limit) in &scopes {
            invocation.arg(*limit);
        }
        let reserved = inner
            .cache
            .run(|mut conn| async move { invocation.invoke_async::<(i64, i64)>(&mut conn).await })
            .await;
        let (local, refused) = match reserved {
            Ok((1, _)) => (false, None),
            Ok((_, wait_ms)) => (
                false,
                Some(Duration::from_millis(
                    u64::try_from(wait_ms).unwrap_or(1000),
                )),
            ),
            Err(error) => {
                tracing::warn!(%error, "login limiter: Redis unavailable, limiting in process");
                let refused = inner
                    .local
                    .reserve(rules, &scopes, &attempt.in_flight_key(), &attempt.token)
                    .err();
                (true, refused)
            }
        };
        drop(scopes);
        attempt.local = local;
        match refused {
            Some(wait) => {
                metrics::counter!("auth_login_attempts_throttled_total").increment(1);
                attempt.settled = true;
                Err(wait.max(Duration::from_millis(1)))
            }
            None => Ok(attempt),
        }
    }
}

impl LoginAttempt {
    fn scopes(&self) -> Vec<(&str, u32)> {
        let rules = &self.inner.rules;
        let mut scopes = vec![(self.account.as_str(), rules.per_account)];
        if let Some(ip) = &self.ip {
            scopes.push((ip.as_str(), rules.per_ip));
        }
        scopes
    }

    fn in_flight_key(&self) -> String {
        format!("{}:inflight", self.account)
    }

    /// A wrong password (or a disabled account): the reservation stays counted.
    pub async fn failed(mut self) {
        self.settle(false).await;
    }

    /// The account's failures are cleared (not the address's: one good password must not reset an
    /// attacker's budget against other accounts; only this attempt's own reservation is given back).
    pub async fn succeeded(mut self) {
        self.settle(true).await;
    }

    async fn settle(&mut self, success: bool) {
        self.settled = true;
        settle(
            Arc::clone(&self.inner),
            self.account.clone(),
            self.ip.clone(),
            self.token.clone(),
            self.local,
            success,
        )
        .await;
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // Only the in-flight mark is released; the attempt stays counted.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(settle(
                Arc::clone(&self.inner),
                self.account.clone(),
                self.ip.clone(),
                self.token.clone(),
                self.local,
                false,
            ));
        }
    }
}

async fn settle(
    inner: Arc<Inner>,
    account: String,
    ip: Option<String>,
    token: String,
    local: bool,
    success: bool,
) {
    let rules = &inner.rules;
    let mut scopes = vec![(account.as_str(), rules.per_account)];
    if let Some(ip) = &ip {
        scopes.push((ip.as_str(), rules.per_ip));
    }
    let in_flight = format!("{account}:inflight");
    if local {
        inner.local.settle(&scopes, &in_flight, &token, success);
        return;
    }
    let mut invocation = scripts::SETTLE.prepare_invoke();
    invocation.key(inner.cache.key(&in_flight));
    for (key, _) in &scopes {
        invocation
            .key(inner.cache.key(&format!("{key}:fails")))
            .key(inner.cache.key(&format!("{key}:lock")));
    }
    invocation.arg(&token).arg(if success { "1" } else { "0" });
    let settled = inner
        .cache
        .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
        .await;
    if let Err(error) = settled {
        // The in-flight mark expires on its own; a success just leaves the count standing (fail safe).
        tracing::warn!(%error, "login limiter: could not settle an attempt in Redis");
    }
}
