//! `/__sandbox/messaging/messages`: what was "sent".

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::SandboxState;

#[derive(Deserialize)]
pub struct Filter {
    to: Option<String>,
}

/// Oldest first, so the newest message to someone is the last one.
pub async fn messages(state: web::Data<SandboxState>, filter: web::Query<Filter>) -> HttpResponse {
    let store = state.messaging.lock();
    let messages: Vec<_> = store
        .messages
        .iter()
        .filter(|message| {
            filter
                .to
                .as_deref()
                .is_none_or(|to| same_recipient(&message.to, to))
        })
        .collect();
    HttpResponse::Ok().json(messages)
}

/// An unencoded `+` in a query string arrives as a space: `?to=+8190…` still finds `+8190…`.
fn same_recipient(stored: &str, wanted: &str) -> bool {
    let normal = |to: &str| to.trim().trim_start_matches('+').to_ascii_lowercase();
    normal(stored) == normal(wanted)
}

pub async fn clear(state: web::Data<SandboxState>) -> HttpResponse {
    let mut store = state.messaging.lock();
    store.messages.clear();
    store.keys.clear();
    HttpResponse::NoContent().finish()
}
