//! Limits on the account routes that cost work without a sign-in (register, forgot and reset password,
//! resend verification) and on password change: so many per client address and per account in a fixed
//! window, shared through Redis, with the same rule in process when Redis is unreachable (fail safe).
//!
//! `limiter.hit(Action::Register, Some(email), client.limit_key.as_deref())` counts one request against
//! both keys at once, or refuses it (counting nothing) with how long until the window ends.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use deadpool_redis::redis::Script;

use crate::cache::Cache;
use crate::config::{ActionLimit, ActionLimitSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Register,
    ForgotPassword,
    ResetPassword,
    PasswordChange,
    /// For the email verification link's resend route.
    ResendVerification,
    /// Proving an email with the WHMCS password of its billing account.
    WhmcsProof,
    /// A signed-in user typing their password again before a sensitive act (a privacy export); counted
    /// apart from password changes, within the same limits.
    Reauthenticate,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::ForgotPassword => "forgot_password",
            Action::ResetPassword => "reset_password",
            Action::PasswordChange => "password_change",
            Action::ResendVerification => "resend_verification",
            Action::WhmcsProof => "whmcs_proof",
            Action::Reauthenticate => "reauthenticate",
        }
    }
}

/// Sweep expired in-process windows past this many, so a flood of distinct keys cannot grow memory.
const SWEEP_AT: usize = 100_000;

/// KEYS: the keys to count; ARGV: window ms, then each key's limit. Refuses (`{0, ms}`) when any key is at
/// its limit, counting nothing; otherwise counts every key (`{1, 0}`).
static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local wait = 0
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return {0, wait} end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return {1, 0}
",
    )
});

pub struct ActionLimiter {
    cache: Cache,
    settings: ActionLimitSettings,
    local: Mutex<HashMap<String, (u32, Instant)>>,
}

impl ActionLimiter {
    pub fn new(cache: Cache, settings: &ActionLimitSettings) -> Self {
        Self {
            cache,
            settings: settings.clone(),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, action: Action) -> &ActionLimit {
        let s = &self.settings;
        match action {
            Action::Register => &s.register,
            Action::ForgotPassword => &s.forgot_password,
            Action::ResetPassword => &s.reset_password,
            Action::PasswordChange => &s.password_change,
            Action::ResendVerification => &s.resend_verification,
            Action::WhmcsProof => &s.whmcs_proof,
            Action::Reauthenticate => &s.password_change,
        }
    }

    /// Counts one `action` against `account` (an email as typed, or a user id; hashed before it is
    /// stored) and the client address `ip` (its limit key); either may be absent. `Err(retry_after)` when
    /// either is at its limit.
    pub async fn hit(
        &self,
        action: Action,
        account: Option<&str>,
        ip: Option<&str>,
    ) -> Result<(), Duration> {
        let limit = self.limit(action);
        let window = Duration::from_secs(limit.window_secs.max(1));
        let mut keys: Vec<(String, u32)> = Vec::new();
        if let Some(account) = account {
            let digest = digest::digest(&digest::SHA256, account.as_bytes());
            let hex: String = digest.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            keys.push((
                format!("auth:limit:{}:account:{hex}", action.name()),
                limit.per_account.max(1),
            ));
        }
        if let Some(ip) = ip {
            keys.push((
                format!("auth:limit:{}:ip:{ip}", action.name()),
                limit.per_ip.max(1),
            ));
        }
        if keys.is_empty() {
            return Ok(());
        }
        let mut invocation = HIT.prepare_invoke();
        for (key, _) in &keys {
            invocation.key(self.cache.key(key));
        }
        invocation.arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        for (_, limit) in &keys {
            invocation.arg(*limit);
        }
        let counted = self
            .cache
            .run(|mut conn| async move { invocation.invoke_async::<(i64, i64)>(&mut conn).await })
            .await;
        let refused = match counted {
            Ok((1, _)) => None,
            Ok((_, wait_ms)) => Some(Duration::from_millis(
                u64::try_from(wait_ms).unwrap_or(1000),
            )),
            Err(error) => {
                tracing::warn!(%error, "action limiter: Redis unavailable, limiting in process");
                self.local_hit(&keys, window).err()
            }
        };
        match refused {
            None => Ok(()),
            Some(wait) => {
                metrics::counter!("auth_requests_throttled_total", "action" => action.name())
                    .increment(1);
                Err(wait.max(Duration::from_millis(1)))
            }
        }
    }

    fn local_hit(&self, keys: &[(String, u32)], window: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut entries) = self.local.lock() else {
            return Err(window);
        };
        if entries.len() > SWEEP_AT {
            entries.retain(|_, (_, ends)| *ends > now);
        }
        let wait = keys
            .iter()
            .filter_map(|(key, limit)| {
                let (count, ends) = entries.get(key)?;
                (*ends > now && count >= limit).then(|| ends.saturating_duration_since(now))
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, _) in keys {
            let entry = entries.entry(key.clone()).or_insert((0, now + window));
            if entry.1 <= now {
                *entry = (0, now + window);
            }
            entry.0 += 1;
        }
        Ok(())
    }
}
