//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`. Several keys may be configured: the first signs, every
//! one verifies, and all are published at `/.well-known/jwks.json`, so keys rotate without logging anyone out.

use std::collections::HashMap;

use anyhow::Context;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::AuthSettings;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    /// The session (refresh-token family) the token belongs to; revoking it ends the token at once.
    pub sid: Uuid,
    pub roles: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token has no key id")]
    MissingKeyId,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token is invalid: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

pub struct TokenKeys {
    signing_kid: String,
    signing_key: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenKeys {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        let mut signing = None;
        for key in &settings.signing_keys {
            let der = pem_to_der(key.private_key_pem.expose_secret()).with_context(|| {
                format!("auth.signing_keys `{}`: not a PEM private key", key.kid)
            })?;
            let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| {
                anyhow::anyhow!("auth.signing_keys `{}`: not an Ed25519 PKCS#8 key", key.kid)
            })?;
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            verifying.insert(key.kid.clone(), DecodingKey::from_ed_components(&x)?);
            jwks.push(json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "use": "sig", "alg": "EdDSA" }));
            if signing.is_none() {
                signing = Some((key.kid.clone(), EncodingKey::from_ed_der(&der)));
            }
        }
        let (signing_kid, signing_key) = signing.context("auth.signing_keys is empty")?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            signing_kid,
            signing_key,
            verifying,
            jwks: json!({ "keys": jwks }),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl_secs: i64::try_from(settings.access_token_ttl_secs).unwrap_or(900),
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        roles: &[String],
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            roles: roles.to_vec(),
            iat: now,
            exp: now + self.ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Uuid::new_v4(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.signing_key)?)
    }

    /// Checks signature (with the key named by `kid`), algorithm (EdDSA only: `none` and others fail),
    /// issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let key = self.verifying.get(&kid).ok_or(TokenError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)?.claims)
    }
}

fn pem_to_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.is_empty())
        .collect();
    Ok(STANDARD.decode(body)?)
}
