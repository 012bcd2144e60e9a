//! The Freebit (MVNO SIM management) client.
//!
//! Wire format: every call is `POST {base_url}/emptool/api/<path>/`, form-encoded, with one field
//! `json=<JSON string>`. `authOem` trades the OEM id and key for an `authKey`, which every later request
//! carries inside its JSON. HTTP 200 does not mean success: only `resultCode == "100"` does (a string;
//! a number is tolerated), any other code is a rejection mapped through [`codes`].
//!
//! The authKey is cached and shared by every clone of the client. When a call answers the auth-rejection
//! code ([`codes::AUTH_KEY_INVALID`]) or HTTP 401/403, the client logs in again — once, however many calls
//! noticed at the same time — and retries that call once.
//!
//! Transient failures (5xx, timeouts) are retried for reads and plan changes, which are safe to repeat.
//! Top-ups, eSIM activations, suspensions and resumptions are sent once: Freebit has no idempotency key,
//! and a lost answer may hide an applied change that a blind retry would apply twice (or turn into a
//! misleading "already suspended" / "EID in use"). Their callers reconcile by reading the line first.
//!
//! Freebit's public documentation is sparse. Known from it: `authOem`, `/mvno/getTrafficInfo/`,
//! `/mvno/esim/addAcnt/` and the request bodies. Guessed (and mirrored by the sandbox): the paths of account
//! detail (`/mvno/getDetail/`), quota top-up (`/master/addSpec/`), plan change (`/mvno/changePlan/`),
//! suspend and resume (`/mvno/suspend/`, `/mvno/resume/`), and every response body except the base envelope
//! and `authOem`'s — see [`raw`] for the shapes we designed.

mod auth;
mod codes;
mod esim;
mod inquiry;
mod lenient;
mod lifecycle;
mod plan;
mod quota;
pub mod raw;

#[cfg(test)]
mod proptests;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::RwLock;

use super::{ProviderClient, ProviderError, RawResponse, classify_by_status};
use crate::config::ProviderSettings;

pub use codes::{AUTH_KEY_INVALID, INVALID_REQUEST, OK};
pub use esim::{AddKind, ContractLine, EID_DIGITS, EsimOrder, SimKind};
pub use quota::{MAX_TOP_UP_MB, MIN_TOP_UP_MB, QuotaTopUp};

const SYSTEM: &str = "freebit";

/// Dates in Freebit requests (`runTime`, `shipDate`, `expire`) are `YYYYMMDD`.
const DATE_FORMAT: &str = "%Y%m%d";

#[derive(Clone)]
pub struct FreebitClient {
    transport: ProviderClient,
    /// For changes Freebit would apply twice (a top-up, an activation, a suspension): a timeout or a 5xx
    /// may come after the change was made, so the caller must look before trying again.
    transport_once: ProviderClient,
    base_url: String,
    oem_id: String,
    oem_key: SecretString,
    auth_key: Arc<RwLock<Option<SecretString>>>,
}

impl FreebitClient {
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        let transport = ProviderClient::new(SYSTEM, settings)?;
        Ok(Self {
            transport_once: transport.without_retries(),
            transport,
            base_url: settings.freebit.base_url.trim_end_matches('/').to_owned(),
            oem_id: settings.freebit.oem_id.clone(),
            oem_key: settings.freebit.oem_key.clone(),
            auth_key: Arc::new(RwLock::new(None)),
        })
    }

    /// An authenticated operation that is safe to repeat, retried on transient failures.
    async fn call(
        &self,
        operation: &'static str,
        path: &str,
        payload: Value,
    ) -> Result<RawResponse, ProviderError> {
        self.call_with(&self.transport, operation, path, payload)
            .await
    }

    /// An authenticated operation that must not be repeated blindly: sent once.
    async fn call_once(
        &self,
        operation: &'static str,
        path: &str,
        payload: Value,
    ) -> Result<RawResponse, ProviderError> {
        self.call_with(&self.transport_once, operation, path, payload)
            .await
    }

    /// Adds the authKey to `payload`; when Freebit no longer accepts the key (so did nothing), logs in
    /// again and repeats the call once.
    async fn call_with(
        &self,
        transport: &ProviderClient,
        operation: &'static str,
        path: &str,
        payload: Value,
    ) -> Result<RawResponse, ProviderError> {
        let key = self.auth_key().await?;
        let signed = with_auth_key(&payload, &key);
        match post(
            transport,
            &self.base_url,
            operation,
            path,
            &signed,
            classify,
        )
        .await
        {
            Err(ProviderError::Auth { .. }) => {
                tracing::debug!(operation, "freebit refused the authKey; logging in again");
                let fresh = self.renew_auth_key(&key).await?;
                let signed = with_auth_key(&payload, &fresh);
                post(
                    transport,
                    &self.base_url,
                    operation,
                    path,
                    &signed,
                    classify,
                )
                .await
            }
            outcome => outcome,
        }
    }
}

async fn post(
    transport: &ProviderClient,
    base_url: &str,
    operation: &'static str,
    path: &str,
    json: &Value,
    classify: fn(RawResponse) -> Result<RawResponse, ProviderError>,
) -> Result<RawResponse, ProviderError> {
    let url = format!("{base_url}/emptool/api/{}/", path.trim_matches('/'));
    let form = [("json", json.to_string())];
    transport
        .execute(operation, |http| http.post(&url).form(&form), classify)
        .await
}

fn with_auth_key(payload: &Value, key: &SecretString) -> Value {
    let mut payload = payload.clone();
    if let Value::Object(fields) = &mut payload {
        fields.insert(
            "authKey".to_owned(),
            Value::String(key.expose_secret().to_owned()),
        );
    }
    payload
}

/// Freebit answers business errors with HTTP 200: success is `resultCode == "100"` only.
fn classify(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let response = classify_by_status(SYSTEM, response)?;
    let (code, message) = codes::result_of(&response)?;
    if code == OK {
        return Ok(response);
    }
    if code == AUTH_KEY_INVALID {
        return Err(ProviderError::Auth {
            system: SYSTEM,
            message: codes::describe(&code, message.as_deref()),
        });
    }
    let message = codes::describe(&code, message.as_deref());
    Err(ProviderError::rejected(
        SYSTEM,
        Some(response.status.as_u16()),
        code,
        message,
    ))
}

/// A request refused before it is sent, because Freebit would refuse it anyway.
fn invalid_request(message: impl Into<String>) -> ProviderError {
    ProviderError::rejected(SYSTEM, None, INVALID_REQUEST, message)
}
