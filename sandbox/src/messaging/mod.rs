//! The messaging service stand-in, under `/messaging/v1/…` (see `crate::integrations::messaging` for the
//! API). Nothing is delivered anywhere: messages are stored so tests can read what was "sent" (a
//! password-reset link, say).
//!
//! Lifecycle: a message is `queued` when accepted and moves one step each time it is read through
//! `GET /messaging/v1/messages/{id}`: `sent` on the first read, `delivered` on the second. Recipients
//! at the domain `bounce.test` (e-mail) or the number `+819000000000` (SMS, WhatsApp) go `failed` instead,
//! with an `error`.
//!
//! `GET /messaging/v1/messages?idempotency_key=…` answers the message a key made (the status read's body
//! with its `idempotency_key`), or 404 `not_found`: a client that lost an answer asks before sending again.
//!
//! `POST /messaging/v1/contacts/{contact_hash}/actions/delete-permanent` forgets a contact (erasure; see
//! `contacts`): the stored messages to that address lose address, subject and body.
//!
//! Control: `GET /__sandbox/messaging/messages?to=…` lists the stored messages (bodies included), newest
//! last; `DELETE /__sandbox/messaging/messages` forgets them and their idempotency keys.
//!
//! Delivery receipts (webhooks): `PUT /__sandbox/messaging/webhook {"url"}` says where they go (default
//! `[sandbox.messaging] webhook_url`); `POST /__sandbox/messaging/messages/{id}/receipts {"type":
//! "delivered"|"bounced"|"opened"|"clicked", "url"?, "reason"?}` posts one, signed `X-Signature:
//! t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">` with `webhook_secret`, and answers what was posted and
//! the receiver's status, so a test can replay it.

mod api;
mod contacts;
mod control;
mod failure;
mod receipts;
mod store;
mod validation;

use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::web;

use store::Store;

pub struct State {
    store: Mutex<Store>,
}

impl State {
    pub fn seeded() -> Self {
        Self {
            store: Mutex::new(Store::default()),
        }
    }

    pub fn reset(&self) {
        *self.lock() = Store::default();
    }

    /// A handler that panicked mid-update leaves plain data behind, still usable for a test double.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/messaging/v1/messages", web::post().to(api::send))
        .route("/messaging/v1/messages", web::get().to(api::lookup))
        .route("/messaging/v1/messages/{id}", web::get().to(api::status))
        .route(
            "/messaging/v1/contacts/{contact_hash}/actions/delete-permanent",
            web::post().to(contacts::delete_permanent),
        )
        .route(
            "/__sandbox/messaging/messages",
            web::get().to(control::messages),
        )
        .route(
            "/__sandbox/messaging/messages",
            web::delete().to(control::clear),
        )
        .route(
            "/__sandbox/messaging/webhook",
            web::put().to(receipts::set_target),
        )
        .route(
            "/__sandbox/messaging/messages/{id}/receipts",
            web::post().to(receipts::post),
        );
}
