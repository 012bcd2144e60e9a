//! `POST /messaging/v1/contacts/{contact_hash}/actions/delete-permanent`: forget a contact (a data subject's
//! erasure). Modelled on Mailchimp Marketing API's
//! `POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent` (the GDPR "permanently
//! delete" of a list member): the person is named by a hash of the lower-cased address, never by the
//! address itself, so no address travels in a URL or lands in an access log. Where Mailchimp's
//! `subscriber_hash` is MD5, ours is SHA-256 (hex) of the trimmed, lower-cased address (e-mail or E.164).
//!
//! 204 with no body: every stored message to that address lost its address, subject and body (status,
//! channel and times stay); 404 `not_found` when no stored message is addressed to it (never was, or
//! already forgotten: Mailchimp answers 404 for a member deleted permanently too). The idempotency keys of
//! the forgotten messages are dropped with them (their request bodies held the address).

use actix_web::{HttpRequest, HttpResponse, web};
use aws_lc_rs::digest;

use super::api::authenticate;
use super::failure::Failure;
use crate::SandboxState;

/// What a forgotten message's address and body become.
pub const FORGOTTEN: &str = "[forgotten]";

pub fn contact_hash(address: &str) -> String {
    let normal = address.trim().to_lowercase();
    digest::digest(&digest::SHA256, normal.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn delete_permanent(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    hash: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    authenticate(&state, &request)?;
    let hash = hash.into_inner().to_ascii_lowercase();
    let mut store = state.messaging.lock();
    let mut forgotten = Vec::new();
    for message in store
        .messages
        .iter_mut()
        .filter(|message| message.to != FORGOTTEN && contact_hash(&message.to) == hash)
    {
        message.to = FORGOTTEN.to_owned();
        message.subject = None;
        message.body = FORGOTTEN.to_owned();
        message.metadata = None;
        forgotten.push(message.id.clone());
    }
    if forgotten.is_empty() {
        return Err(Failure::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            "no contact with this hash",
        ));
    }
    store.keys.retain(|_, (_, id)| !forgotten.contains(id));
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_of_the_trimmed_lower_cased_address() {
        assert_eq!(
            contact_hash(" Jane@Example.com "),
            contact_hash("jane@example.com")
        );
        assert_eq!(contact_hash("jane@example.com").len(), 64);
        assert_ne!(
            contact_hash("jane@example.com"),
            contact_hash("+33612345678")
        );
    }
}
