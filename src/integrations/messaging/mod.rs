//! The messaging service client (our own small JSON API in front of e-mail, SMS, WhatsApp, LINE and push).
//!
//! - `POST {base_url}/v1/messages` with `Authorization: Bearer <api_key>` and a required `Idempotency-Key`:
//!   the same key and body give the same message and no second send; the same key with another body is a
//!   409. The answer is 202 `{"id":"msg_…","status":"queued","channel","to","created_at"}`.
//! - `GET {base_url}/v1/messages/{id}` → `{"id","status","channel","to","created_at","updated_at","error"?}`
//!   with status `queued`, `sent`, `delivered` or `failed`.
//! - `GET {base_url}/v1/messages?idempotency_key=<key, URL-encoded>` → 200 with the message that key made
//!   (the status read's body plus `"idempotency_key"`), or 404 `{"error":{"code":"not_found"}}` when the key
//!   made none. Asked after an answer was lost (a 5xx after the service wrote, a timeout, a garbled body):
//!   found, the message went out; not found, nothing did. Any other 404 (no such route) proves nothing.
//! - Errors are `{"error":{"code","message"}}`: 400 validation, 401 bad key, 404, 409, 429, 5xx.
//! - Keys are sent as header values: the service takes visible ASCII only (callers encode anything else).
//!
//! - `POST {base_url}/v1/contacts/{contact_hash}/actions/delete-permanent` → 204, or 404 `not_found` when
//!   nothing is held for that contact: erasure ([`MessagingClient::forget_contact`]).
//!
//! Because the key travels with every attempt, retrying a send after a timeout or a 5xx cannot send twice.

mod types;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ProviderClient, ProviderError, RawResponse, classify_by_status};
use crate::config::ProviderSettings;

pub use types::{Channel, MessageState, MessageStatus, OutgoingMessage, SentMessage};

const SYSTEM: &str = "messaging";

/// The code of a request the client refused to send.
pub const INVALID_REQUEST: &str = "invalid_request";

#[derive(Clone)]
pub struct MessagingClient {
    transport: ProviderClient,
    base_url: String,
    api_key: SecretString,
}

impl MessagingClient {
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        Ok(Self {
            transport: ProviderClient::new(SYSTEM, settings)?,
            base_url: settings.messaging.base_url.trim_end_matches('/').to_owned(),
            api_key: settings.messaging.api_key.clone(),
        })
    }

    /// Hands `message` to the service; `idempotency_key` names this send (e.g. the outbox event id), so a
    /// repeat with the same key is answered with the first message instead of a second one.
    #[tracing::instrument(skip_all, fields(system = SYSTEM, channel = message.channel.as_str()))]
    pub async fn send(
        &self,
        message: &OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        if idempotency_key.trim().is_empty() {
            return Err(invalid_request("an idempotency key is required"));
        }
        let url = format!("{}/v1/messages", self.base_url);
        let response = self
            .transport
            .execute(
                "send",
                |http| {
                    http.post(&url)
                        .bearer_auth(self.api_key.expose_secret())
                        .header("idempotency-key", idempotency_key)
                        .json(message)
                },
                classify,
            )
            .await?;
        response.json(SYSTEM)
    }

    /// The message `idempotency_key` made, `None` when it made none.
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn find_by_key(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<MessageState>, ProviderError> {
        if idempotency_key.trim().is_empty() {
            return Err(invalid_request("an idempotency key is required"));
        }
        let url = format!("{}/v1/messages", self.base_url);
        let answer = self
            .transport
            .execute(
                "find_by_key",
                |http| {
                    http.get(&url)
                        .bearer_auth(self.api_key.expose_secret())
                        .query(&[("idempotency_key", idempotency_key)])
                },
                classify,
            )
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(ProviderError::Rejected {
                status: Some(404),
                code,
                ..
            }) if code == "not_found" => return Ok(None),
            Err(error) => return Err(error),
        };
        let found: MessageState = response.json(SYSTEM)?;
        // A message under another key is not ours: whatever it is, it does not say ours went out.
        if found.idempotency_key.as_deref() != Some(idempotency_key.trim()) {
            return Err(ProviderError::malformed(
                SYSTEM,
                "the lookup answered a message of another idempotency key",
            ));
        }
        Ok(Some(found))
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM, message_id = %id))]
    pub async fn status(&self, id: &str) -> Result<MessageState, ProviderError> {
        // Ids go into the path: anything but an id's characters would change which resource we ask for.
        let plausible = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !plausible {
            return Err(invalid_request("not a message id"));
        }
        let url = format!("{}/v1/messages/{id}", self.base_url);
        let response = self
            .transport
            .execute(
                "status",
                |http| http.get(&url).bearer_auth(self.api_key.expose_secret()),
                classify,
            )
            .await?;
        response.json(SYSTEM)
    }
}

/// What a request to forget a contact found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgotten {
    /// The service held messages to the address and forgot them (204).
    Forgotten,
    /// It held none (404 `not_found`): never sent to, or forgotten before.
    NotFound,
}

/// The hash that names a contact in `…/contacts/{contact_hash}/…`: SHA-256 (hex) of the trimmed,
/// lower-cased address (Mailchimp's `subscriber_hash`, with SHA-256 for MD5).
pub fn contact_hash(address: &str) -> String {
    let normal = address.trim().to_lowercase();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, normal.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl MessagingClient {
    /// `POST {base_url}/v1/contacts/{contact_hash}/actions/delete-permanent` (modelled on Mailchimp's
    /// permanent delete of a list member, for a data subject's erasure): the service forgets the address,
    /// subjects and bodies of every message it holds to `address`. The address never travels in the URL,
    /// only its hash. Safe to repeat: a second call answers [`Forgotten::NotFound`].
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn forget_contact(&self, address: &str) -> Result<Forgotten, ProviderError> {
        if address.trim().is_empty() {
            return Err(invalid_request("an address is required"));
        }
        let url = format!(
            "{}/v1/contacts/{}/actions/delete-permanent",
            self.base_url,
            contact_hash(address)
        );
        let answer = self
            .transport
            .execute(
                "forget_contact",
                |http| http.post(&url).bearer_auth(self.api_key.expose_secret()),
                classify,
            )
            .await;
        match answer {
            Ok(_) => Ok(Forgotten::Forgotten),
            Err(ProviderError::Rejected {
                status: Some(404),
                code,
                ..
            }) if code == "not_found" => Ok(Forgotten::NotFound),
            Err(error) => Err(error),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// The status decides what kind of failure it is; the error body, when there is one, says which.
fn classify(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let detail = || {
        response
            .json::<ErrorBody>(SYSTEM)
            .ok()
            .map(|body| body.error)
    };
    match classify_by_status(SYSTEM, response.clone()) {
        Err(ProviderError::Rejected {
            status,
            code,
            message,
            ..
        }) => Err(match detail() {
            Some(detail) => ProviderError::rejected(SYSTEM, status, detail.code, detail.message),
            None => ProviderError::rejected(SYSTEM, status, code, message),
        }),
        Err(ProviderError::Auth { message, .. }) => Err(ProviderError::Auth {
            system: SYSTEM,
            message: detail().map_or(message, |detail| {
                format!("{}: {}", detail.code, detail.message)
            }),
        }),
        outcome => outcome,
    }
}

fn invalid_request(message: &str) -> ProviderError {
    ProviderError::rejected(SYSTEM, None, INVALID_REQUEST, message)
}
