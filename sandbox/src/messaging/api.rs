//! `POST /messaging/v1/messages`, `GET /messaging/v1/messages?idempotency_key=…` and
//! `GET /messaging/v1/messages/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::failure::Failure;
use super::store::{Message, Status};
use super::validation;
use crate::SandboxState;

pub(super) fn authenticate(state: &SandboxState, request: &HttpRequest) -> Result<(), Failure> {
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if presented == Some(state.config.messaging.api_key.expose_secret()) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid API key",
        ))
    }
}

pub async fn send(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Failure> {
    authenticate(&state, &request)?;
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            Failure::invalid(
                "idempotency_key_required",
                "the Idempotency-Key header is required",
            )
        })?
        .to_owned();
    let (draft, fingerprint) = validation::parse(&body)?;

    let mut store = state.messaging.lock();
    if let Some((first_body, id)) = store.keys.get(&key) {
        if *first_body != fingerprint {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let receipt = store.find(id).map(Message::receipt);
        return Ok(match receipt {
            Some(receipt) => HttpResponse::Accepted()
                .insert_header(("idempotent-replayed", "true"))
                .json(receipt),
            // Keys and messages are cleared together, so this cannot happen; never send twice if it does.
            None => HttpResponse::Gone().finish(),
        });
    }
    let now = Utc::now();
    let message = Message {
        id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
        status: Status::Queued,
        channel: draft.channel,
        to: draft.to.trim().to_owned(),
        template: draft.template,
        subject: draft.subject,
        body: draft.body,
        metadata: draft.metadata,
        idempotency_key: key.clone(),
        created_at: now,
        updated_at: now,
        error: None,
    };
    let receipt = message.receipt();
    store.keys.insert(key, (fingerprint, message.id.clone()));
    store.messages.push(message);
    Ok(HttpResponse::Accepted().json(receipt))
}

pub async fn status(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    authenticate(&state, &request)?;
    let mut store = state.messaging.lock();
    let message = store
        .find_mut(&id)
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, "not_found", "no such message"))?;
    message.advance();
    Ok(HttpResponse::Ok().json(message.state()))
}

#[derive(Deserialize)]
pub struct Lookup {
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// The message an Idempotency-Key made (as a status read shows it, with its key), or 404 `not_found` when the
/// key made none: what a client asks after an answer it lost, before deciding whether to send again.
pub async fn lookup(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    query: web::Query<Lookup>,
) -> Result<HttpResponse, Failure> {
    authenticate(&state, &request)?;
    let key = query
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            Failure::invalid(
                "idempotency_key_required",
                "the idempotency_key parameter is required",
            )
        })?;
    let store = state.messaging.lock();
    let message = store
        .keys
        .get(key)
        .and_then(|(_, id)| store.find(id))
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "this Idempotency-Key made no message",
            )
        })?;
    Ok(HttpResponse::Ok().json(message.state()))
}
