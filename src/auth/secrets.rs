//! Refresh, password-reset and email-verification tokens. Each is derived from its row id with a server-side HMAC key, and only
//! its SHA-256 is stored: the database alone cannot produce a usable token, yet the server can hand a
//! family's current refresh token back to a caller inside the reuse grace window without keeping it.

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

pub struct TokenSecrets {
    key: hmac::Key,
}

#[derive(Clone, Copy)]
pub enum Purpose {
    Refresh,
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Refresh => b"concierge/refresh/v1/",
            Purpose::PasswordReset => b"concierge/password-reset/v1/",
            Purpose::EmailVerification => b"concierge/email-verification/v1/",
        }
    }
}

impl TokenSecrets {
    pub fn new(key_b64: &SecretString) -> anyhow::Result<Self> {
        let key = STANDARD
            .decode(key_b64.expose_secret().trim())
            .map_err(|_| anyhow::anyhow!("auth.refresh_token_key is not base64"))?;
        anyhow::ensure!(
            key.len() >= 32,
            "auth.refresh_token_key must be at least 32 bytes"
        );
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        })
    }

    /// The token for row `id`: 256 bits, URL-safe.
    pub fn token(&self, purpose: Purpose, id: Uuid) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(purpose.label());
        context.update(id.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

/// Whether `token` could be one of ours (43 URL-safe base64 characters, 256 bits), so anything else is
/// refused before it costs a look-up or a hash.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored and looked up: the SHA-256 of a token.
pub fn hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_our_shape_pass_the_shape_check() {
        let secrets = TokenSecrets::new(
            &"mcAnfTbQTVOknGaArj5n6nzvjiSY7ZIhtJqb50yemNk="
                .to_owned()
                .into(),
        );
        let Ok(secrets) = secrets else {
            panic!("test key")
        };
        assert!(is_token_shaped(
            &secrets.token(Purpose::PasswordReset, Uuid::new_v4())
        ));
        for bad in [
            "",
            "made-up-token",
            &"a".repeat(42),
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &format!("{}+", "a".repeat(42)),
            &format!("{}é", "a".repeat(41)),
        ] {
            assert!(!is_token_shaped(bad), "{bad}");
        }
    }
}
