//! OAuth 2.0 against `{login_url}/services/oauth2/token`: client credentials or a JWT bearer assertion.
//! Salesforce issues no refresh token and no expiry, so the session is kept until a call is refused, and
//! then replaced once for everyone waiting (single flight behind the write lock).

use std::sync::Arc;

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::SYSTEM;
use crate::config::{SalesforceAuth, SalesforceSettings};
use crate::integrations::{ProviderClient, ProviderError, RawResponse};
use crate::telemetry::redact;

/// Salesforce accepts assertions valid for at most a few minutes.
const ASSERTION_LIFETIME_SECS: i64 = 180;
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(super) struct Session {
    pub(super) access_token: SecretString,
    /// Base of every data call, without a trailing slash.
    pub(super) instance_url: String,
}

enum Grant {
    ClientCredentials {
        client_secret: SecretString,
    },
    JwtBearer {
        username: String,
        audience: String,
        key: EncodingKey,
    },
}

pub(super) struct Authenticator {
    token_url: String,
    client_id: String,
    grant: Grant,
    session: RwLock<Option<Arc<Session>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

impl Authenticator {
    pub(super) fn from_settings(settings: &SalesforceSettings) -> anyhow::Result<Self> {
        let grant = match settings.auth {
            SalesforceAuth::ClientCredentials => Grant::ClientCredentials {
                client_secret: settings.client_secret.clone().context(
                    "`providers.salesforce.client_secret` is required for client_credentials",
                )?,
            },
            SalesforceAuth::JwtBearer => {
                let pem = settings
                    .private_key_pem
                    .as_ref()
                    .context("`providers.salesforce.private_key_pem` is required for jwt_bearer")?;
                let key = EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes())
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "`providers.salesforce.private_key_pem` is not a readable RSA private key (PEM)"
                        )
                    })?;
                Grant::JwtBearer {
                    username: settings
                        .username
                        .clone()
                        .context("`providers.salesforce.username` is required for jwt_bearer")?,
                    audience: settings.audience.clone(),
                    key,
                }
            }
        };
        Ok(Self {
            token_url: format!(
                "{}/services/oauth2/token",
                settings.login_url.trim_end_matches('/')
            ),
            client_id: settings.client_id.clone(),
            grant,
            session: RwLock::new(None),
        })
    }

    pub(super) async fn session(
        &self,
        transport: &ProviderClient,
    ) -> Result<Arc<Session>, ProviderError> {
        if let Some(session) = self.session.read().await.as_ref() {
            return Ok(Arc::clone(session));
        }
        self.renew(transport, None).await
    }

    /// Replaces `stale` unless another caller already did, in which case its session is reused.
    pub(super) async fn replace(
        &self,
        transport: &ProviderClient,
        stale: &Arc<Session>,
    ) -> Result<Arc<Session>, ProviderError> {
        self.renew(transport, Some(stale)).await
    }

    pub(super) async fn forget(&self, stale: &Arc<Session>) {
        let mut slot = self.session.write().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, stale))
        {
            *slot = None;
        }
    }

    async fn renew(
        &self,
        transport: &ProviderClient,
        stale: Option<&Arc<Session>>,
    ) -> Result<Arc<Session>, ProviderError> {
        // Holding the write lock during the token call is the single flight: everyone else waits for it.
        let mut slot = self.session.write().await;
        if let Some(current) = slot.as_ref()
            && stale.is_none_or(|stale| !Arc::ptr_eq(current, stale))
        {
            return Ok(Arc::clone(current));
        }
        *slot = None;
        let fresh = Arc::new(self.fetch(transport).await?);
        *slot = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    async fn fetch(&self, transport: &ProviderClient) -> Result<Session, ProviderError> {
        let form = self.form()?;
        let response = transport
            .execute(
                "token",
                |http| http.post(&self.token_url).form(&form),
                classify_token,
            )
            .await?;
        let token: TokenResponse = serde_json::from_slice(&response.body).map_err(|_| {
            // serde's message may quote the payload, and the payload holds the token.
            ProviderError::malformed(SYSTEM, "token response lacks access_token or instance_url")
        })?;
        let instance_url = token.instance_url.trim_end_matches('/').to_owned();
        if !(instance_url.starts_with("https://") || instance_url.starts_with("http://")) {
            return Err(ProviderError::malformed(
                SYSTEM,
                "token response has no usable instance_url",
            ));
        }
        if token.access_token.is_empty() {
            return Err(ProviderError::malformed(
                SYSTEM,
                "token response has an empty access_token",
            ));
        }
        tracing::debug!(instance_url, "salesforce session established");
        Ok(Session {
            access_token: SecretString::from(token.access_token),
            instance_url,
        })
    }

    fn form(&self) -> Result<Vec<(&'static str, String)>, ProviderError> {
        Ok(match &self.grant {
            Grant::ClientCredentials { client_secret } => vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", self.client_id.clone()),
                ("client_secret", client_secret.expose_secret().to_owned()),
            ],
            Grant::JwtBearer {
                username,
                audience,
                key,
            } => {
                let claims = AssertionClaims {
                    iss: &self.client_id,
                    sub: username,
                    aud: audience,
                    exp: chrono::Utc::now().timestamp() + ASSERTION_LIFETIME_SECS,
                };
                let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
                    .map_err(|error| ProviderError::Auth {
                        system: SYSTEM,
                        message: format!("could not sign the JWT bearer assertion: {error}"),
                    })?;
                vec![
                    ("grant_type", JWT_BEARER_GRANT.to_owned()),
                    ("assertion", assertion),
                ]
            }
        })
    }
}

/// The token endpoint speaks OAuth, not the REST error arrays: `{"error","error_description"}`.
fn classify_token(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let status = response.status.as_u16();
    if response.status.is_success() {
        return Ok(response);
    }
    Err(match status {
        429 => ProviderError::RateLimited {
            system: SYSTEM,
            retry_after: super::error::retry_after(&response),
        },
        408 | 500..=599 => ProviderError::Unavailable {
            system: SYSTEM,
            reason: format!("token endpoint answered HTTP {status}"),
        },
        _ => {
            let message = match serde_json::from_slice::<OAuthError>(&response.body) {
                Ok(OAuthError {
                    error,
                    error_description: Some(description),
                }) => format!("{error}: {description}"),
                Ok(OAuthError { error, .. }) => error,
                Err(_) => format!("HTTP {status}: {}", response.text_snippet()),
            };
            ProviderError::Auth {
                system: SYSTEM,
                message: redact::scrub(&message),
            }
        }
    })
}
