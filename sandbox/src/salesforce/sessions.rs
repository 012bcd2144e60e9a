//! Access tokens handed out by the token endpoint, and the JWT bearer flow's registered public key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use rand::Rng;
use rand::distr::Alphanumeric;

use super::errors::SalesforceError;
use super::lock;

/// The org id every token and identity URL carries.
pub const ORG_ID: &str = "00DSB0000000001AAA";

#[derive(Default)]
pub struct Sessions {
    tokens: Mutex<HashMap<String, Instant>>,
    jwt_public_key_pem: Mutex<Option<String>>,
}

impl Sessions {
    /// A new token shaped like Salesforce's (`00D…!AR…`), valid for `ttl`.
    pub fn issue(&self, ttl: Duration) -> String {
        let secret: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        let token = format!("{}!AR{secret}", &ORG_ID[..15]);
        let mut tokens = lock(&self.tokens);
        let now = Instant::now();
        tokens.retain(|_, expires_at| *expires_at > now);
        tokens.insert(token.clone(), now + ttl);
        token
    }

    pub fn is_valid(&self, token: &str) -> bool {
        lock(&self.tokens)
            .get(token)
            .is_some_and(|expires_at| *expires_at > Instant::now())
    }

    /// Every token issued so far stops working, as when an admin revokes sessions.
    pub fn expire_all(&self) {
        lock(&self.tokens).clear();
    }

    pub fn set_jwt_public_key(&self, pem: Option<String>) {
        *lock(&self.jwt_public_key_pem) = pem;
    }

    pub fn jwt_public_key(&self) -> Option<String> {
        lock(&self.jwt_public_key_pem).clone()
    }

    pub fn reset(&self) {
        self.expire_all();
        self.set_jwt_public_key(None);
    }

    /// Accepts `Authorization: Bearer <token>` (or the older `OAuth <token>`) carrying a live token.
    pub fn require(&self, req: &HttpRequest) -> Result<(), SalesforceError> {
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
                    .then(|| token.trim())
            })
            .ok_or_else(SalesforceError::invalid_session)?;
        if self.is_valid(token) {
            Ok(())
        } else {
            Err(SalesforceError::invalid_session())
        }
    }
}
