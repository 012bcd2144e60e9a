//! The archive's download link: `base64url(request id ‖ expiry) . base64url(tag)`, the tag an HMAC-SHA256
//! (key derived from `privacy.download_key`) over both. The link is the capability: whoever holds it may
//! download until the expiry, so it is only shown to those who may read the request. An edited link fails
//! the tag; a genuine one past its expiry is refused as expired.

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

const LABEL: &[u8] = b"concierge/privacy/download/v1";
const PAYLOAD_LEN: usize = 16 + 8;
/// base64 of 24 bytes, a dot, base64 of 32 bytes.
const TOKEN_LEN: usize = 32 + 1 + 43;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not one of ours")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

#[derive(Clone)]
pub struct LinkSigner {
    key: hmac::Key,
}

impl LinkSigner {
    pub fn new(secret: &SecretString) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().trim().as_bytes());
        let derived = hmac::sign(&root, LABEL);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    pub fn sign(&self, request_id: Uuid, expires_at: DateTime<Utc>) -> String {
        let mut payload = [0_u8; PAYLOAD_LEN];
        payload[..16].copy_from_slice(request_id.as_bytes());
        payload[16..].copy_from_slice(&expires_at.timestamp().to_be_bytes());
        let tag = hmac::sign(&self.key, &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The request a link names, if the link is ours and has not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, LinkError> {
        if token.len() != TOKEN_LEN {
            return Err(LinkError::Invalid);
        }
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        if payload.len() != PAYLOAD_LEN {
            return Err(LinkError::Invalid);
        }
        let expected = hmac::sign(&self.key, &payload);
        constant_time::verify_slices_are_equal(expected.as_ref(), &tag)
            .map_err(|_| LinkError::Invalid)?;
        let request_id = Uuid::from_slice(&payload[..16]).map_err(|_| LinkError::Invalid)?;
        let mut expiry = [0_u8; 8];
        expiry.copy_from_slice(&payload[16..]);
        if i64::from_be_bytes(expiry) <= now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(request_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signer(key: &str) -> LinkSigner {
        LinkSigner::new(&key.to_owned().into())
    }

    #[test]
    fn a_signed_link_names_its_request_until_it_expires() {
        let signer = signer("a-test-key-of-enough-length-for-the-privacy-links");
        let id = Uuid::now_v7();
        let now = Utc::now();
        let token = signer.sign(id, now + chrono::Duration::hours(1));
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(signer.verify(&token, now), Ok(id));
        assert_eq!(
            signer.verify(&token, now + chrono::Duration::hours(2)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn an_edited_or_foreign_link_is_invalid() {
        let ours = signer("a-test-key-of-enough-length-for-the-privacy-links");
        let theirs = signer("another-key-of-enough-length-for-the-privacy-links");
        let now = Utc::now();
        let token = ours.sign(Uuid::now_v7(), now + chrono::Duration::hours(1));
        assert_eq!(theirs.verify(&token, now), Err(LinkError::Invalid));
        // A later expiry with the old tag.
        let (_, tag) = token.split_once('.').unwrap();
        let mut payload = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        payload[23] ^= 1;
        let edited = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload));
        assert_eq!(ours.verify(&edited, now), Err(LinkError::Invalid));
        assert_eq!(ours.verify("", now), Err(LinkError::Invalid));
        assert_eq!(
            ours.verify(&"a".repeat(TOKEN_LEN), now),
            Err(LinkError::Invalid)
        );
    }
}
