//! Password hashing (argon2id, off the async threads) and the password policy.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::AuthSettings;
use crate::errors::FieldError;
use crate::telemetry::spawn_blocking_with_tracing;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// The 20,000 most common passwords (zxcvbn's frequency list, MIT licence).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    /// Bounds concurrent sign-in verifications so a login storm queues (asynchronously) instead of
    /// starving the runtime.
    login_permits: Arc<Semaphore>,
    /// Everything else (register, reset, change, staff creation) has its own pool: a flood of those
    /// cannot take sign-in's capacity, nor sign-in theirs.
    other_permits: Arc<Semaphore>,
    other_capacity: usize,
    /// Verified against when the account does not exist, so an unknown email costs the same as a wrong
    /// password.
    dummy_hash: Arc<String>,
}

impl Passwords {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon2
            .hash_password(b"concierge-dummy-password")
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        let login_permits = match settings.max_concurrent_password_hashes {
            0 => std::thread::available_parallelism()
                .map_or(1, |cores| cores.get().saturating_sub(1).max(1)),
            configured => configured,
        };
        let other_capacity = settings.max_concurrent_other_password_hashes.max(1);
        Ok(Self {
            argon2: Arc::new(argon2),
            login_permits: Arc::new(Semaphore::new(login_permits)),
            other_permits: Arc::new(Semaphore::new(other_capacity)),
            other_capacity,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let permit = Arc::clone(&self.other_permits).acquire_owned().await?;
        let argon2 = Arc::clone(&self.argon2);
        let password = password.clone();
        spawn_blocking_with_tracing(move || {
            // Held by the work itself: a request dropped mid-hash (the client hung up) does not free it
            // while the hash still runs.
            let _permit = permit;
            argon2
                .hash_password(password.expose_secret().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Sign-in: verifies `password` against `hash`, or against the dummy hash when there is no account, so
    /// both answers take the same time.
    pub async fn verify(&self, password: &SecretString, hash: Option<&str>) -> bool {
        self.verify_in(&self.login_permits, "login", password, hash)
            .await
    }

    /// A signed-in user's current password (to change it), from the other pool.
    pub async fn verify_current(&self, password: &SecretString, hash: &str) -> bool {
        self.verify_in(&self.other_permits, "password_change", password, Some(hash))
            .await
    }

    async fn verify_in(
        &self,
        permits: &Arc<Semaphore>,
        purpose: &'static str,
        password: &SecretString,
        hash: Option<&str>,
    ) -> bool {
        let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
            return false;
        };
        metrics::counter!("auth_password_verifications_total", "purpose" => purpose).increment(1);
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.as_str().to_owned(), str::to_owned);
        let argon2 = Arc::clone(&self.argon2);
        let password = password.clone();
        let matched = spawn_blocking_with_tracing(move || {
            // Released when the verification ends, not when the request goes away.
            let _permit = permit;
            argon2
                .verify_password(password.expose_secret().as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .unwrap_or(false);
        known && matched
    }

    /// Takes every permit of the non-sign-in pool until the returned value is dropped: what a flood of
    /// register and reset work looks like, so tests can show sign-in does not wait for it.
    #[doc(hidden)]
    pub async fn occupy_other_pool(&self) -> anyhow::Result<OwnedSemaphorePermit> {
        let all = u32::try_from(self.other_capacity).unwrap_or(u32::MAX);
        Ok(Arc::clone(&self.other_permits)
            .acquire_many_owned(all)
            .await?)
    }
}

/// Length 8–128 (counted in characters), not one of the most common passwords, not the email itself.
pub fn check_policy(field: &str, password: &str, email: Option<&str>) -> Result<(), FieldError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("Use at least {MIN_LENGTH} characters."),
        ));
    }
    if length > MAX_LENGTH {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("Use at most {MAX_LENGTH} characters."),
        ));
    }
    let lowered = password.to_lowercase();
    if COMMON.contains(lowered.as_str()) {
        return Err(FieldError::new(
            field,
            "too_common",
            "This password is too common; choose another.",
        ));
    }
    if email.is_some_and(|email| {
        lowered == email.to_lowercase() || email.to_lowercase().starts_with(&format!("{lowered}@"))
    }) {
        return Err(FieldError::new(
            field,
            "matches_email",
            "The password must not be your email address.",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn passwords_with_iterations(iterations: u32) -> Passwords {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let figment = crate::config::Settings::figment(&dir, crate::config::Environment::Test)
            .unwrap()
            .merge(("auth.max_concurrent_password_hashes", 1))
            .merge(("auth.max_concurrent_other_password_hashes", 1))
            .merge(("auth.argon2_iterations", iterations));
        let settings = crate::config::Settings::extract(figment).unwrap();
        Passwords::new(&settings.auth).unwrap()
    }

    /// A client that disconnects drops its request's future mid-verification; the argon2 work it started
    /// runs on regardless, so it must keep its permit until it ends. Otherwise a client that sends and
    /// hangs up, again and again, runs any number of hashes at once past the pool's bound.
    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_permit_until_the_work_ends() {
        // Slow hashes (about half a second each), so the work is surely still running when the permits are
        // looked at, even on a machine busy enough to pause this test between two lines.
        let passwords = passwords_with_iterations(40);
        let secret = SecretString::from("correct horse battery staple".to_owned());
        let hash = passwords.hash(&secret).await.unwrap();

        let verifying = {
            let passwords = passwords.clone();
            let secret = secret.clone();
            tokio::spawn(async move { passwords.verify(&secret, Some(&hash)).await })
        };
        while passwords.login_permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        verifying.abort();
        let _ = verifying.await;
        assert_eq!(
            passwords.login_permits.available_permits(),
            0,
            "the abandoned verification is still hashing"
        );
        let start = std::time::Instant::now();
        while passwords.login_permits.available_permits() == 0 {
            assert!(start.elapsed() < std::time::Duration::from_secs(30));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }

        let hashing = {
            let passwords = passwords.clone();
            tokio::spawn(async move { passwords.hash(&secret).await })
        };
        while passwords.other_permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        hashing.abort();
        let _ = hashing.await;
        assert_eq!(passwords.other_permits.available_permits(), 0);
    }

    #[test]
    fn the_common_list_has_at_least_ten_thousand_entries() {
        assert!(COMMON.len() >= 10_000);
    }

    #[test]
    fn the_policy_rejects_short_long_common_and_email_passwords() {
        assert!(check_policy("password", "short", None).is_err());
        assert!(check_policy("password", &"x".repeat(129), None).is_err());
        assert!(check_policy("password", "password1", None).is_err());
        assert!(check_policy("password", "Trustno1", None).is_err());
        assert!(check_policy("password", "jane.doe", Some("jane.doe@example.com")).is_err());
        assert!(check_policy("password", "correct horse battery staple", None).is_ok());
        assert!(check_policy("password", &"é".repeat(64), None).is_ok());
    }
}
