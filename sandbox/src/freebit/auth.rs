//! `authOem` and the authKey check every other call goes through.

use std::time::{Duration, Instant};

use actix_web::web;
use secrecy::ExposeSecret;
use serde_json::json;

use super::wire::{self, AUTH_KEY_INVALID, OEM_REFUSED, Payload, Rejection, Reply};
use crate::SandboxState;

pub async fn auth_oem(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = wire::payload(&body)?;
    let oem_id = wire::text(&payload, "oemId")?;
    let oem_key = wire::text(&payload, "oemKey")?;
    let expected = &state.config.freebit;
    if oem_id != expected.oem_id || oem_key != expected.oem_key.expose_secret() {
        return Err(Rejection::new(OEM_REFUSED, "oemId or oemKey invalid"));
    }
    let auth_key = uuid::Uuid::new_v4().simple().to_string();
    state
        .freebit
        .lock()
        .auth_keys
        .insert(auth_key.clone(), Instant::now());
    wire::ok(json!({ "authKey": auth_key }))
}

/// The request's JSON, once its authKey is known and still alive.
pub fn authorized(state: &SandboxState, body: &[u8]) -> Result<Payload, Rejection> {
    let payload = wire::payload(body)?;
    let key = wire::optional_text(&payload, "authKey")?.unwrap_or_default();
    let ttl = Duration::from_secs(state.config.token_ttl_secs);
    let alive = state
        .freebit
        .lock()
        .auth_keys
        .get(&key)
        .is_some_and(|issued| issued.elapsed() < ttl);
    if alive {
        Ok(payload)
    } else {
        Err(Rejection::new(AUTH_KEY_INVALID, "authKey invalid"))
    }
}
