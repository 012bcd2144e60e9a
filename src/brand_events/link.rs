//! The RSVP link's token: the invitation id and the link's expiry, signed (HMAC-SHA256 with a key derived from
//! `brand_events.rsvp_key`, truncated to 128 bits), URL-safe base64 without padding — 54 characters. Nothing
//! is stored: the invitation row names its expiry, so the token (and the invitation message carrying it) is
//! the same every time it is made. A token altered in any bit, or made with another key, does not verify.

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

const LABEL: &[u8] = b"concierge/brand-events/rsvp-link/v1";
const TAG_LEN: usize = 16;
const PAYLOAD_LEN: usize = 16 + 8;
/// The encoded length of payload and tag.
const TOKEN_LEN: usize = 54;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the RSVP link is not valid")]
pub struct InvalidLink;

pub struct LinkCodec {
    key: hmac::Key,
}

impl LinkCodec {
    pub fn new(secret: &SecretString) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().trim().as_bytes());
        let derived = hmac::sign(&root, LABEL);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let signed = hmac::sign(&self.key, payload);
        let mut tag = [0_u8; TAG_LEN];
        tag.copy_from_slice(&signed.as_ref()[..TAG_LEN]);
        tag
    }

    pub fn token(&self, invitation_id: Uuid, expires_at: DateTime<Utc>) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
        bytes.extend_from_slice(invitation_id.as_bytes());
        bytes.extend_from_slice(&expires_at.timestamp().to_be_bytes());
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The invitation and the expiry the token was made for, if we made it (expired or not: the caller
    /// compares the expiry with its clock, so an expired link is told apart from a forged one).
    pub fn verify(&self, token: &str) -> Result<(Uuid, DateTime<Utc>), InvalidLink> {
        if token.len() != TOKEN_LEN {
            return Err(InvalidLink);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidLink)?;
        if bytes.len() != PAYLOAD_LEN + TAG_LEN {
            return Err(InvalidLink);
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        constant_time::verify_slices_are_equal(&self.tag(payload), tag).map_err(|_| InvalidLink)?;
        let (id, expiry) = payload.split_at(16);
        let id = Uuid::from_slice(id).map_err(|_| InvalidLink)?;
        let seconds = i64::from_be_bytes(expiry.try_into().map_err(|_| InvalidLink)?);
        let expires_at = DateTime::from_timestamp(seconds, 0).ok_or(InvalidLink)?;
        Ok((id, expires_at))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codec(key: &str) -> LinkCodec {
        LinkCodec::new(&SecretString::from(key.to_owned()))
    }

    #[test]
    fn a_token_verifies_to_what_it_was_made_for_and_is_stable() {
        let codec = codec("a-key-of-at-least-thirty-two-bytes-0123456789");
        let id = Uuid::now_v7();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let token = codec.token(id, at);
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(token, codec.token(id, at));
        assert_eq!(codec.verify(&token), Ok((id, at)));
    }

    #[test]
    fn any_altered_character_another_key_or_another_shape_is_refused() {
        let codec = codec("a-key-of-at-least-thirty-two-bytes-0123456789");
        let token = codec.token(Uuid::now_v7(), Utc::now());
        for i in 0..token.len() {
            let mut altered: Vec<char> = token.chars().collect();
            altered[i] = if altered[i] == 'A' { 'B' } else { 'A' };
            let altered: String = altered.into_iter().collect();
            if altered != token {
                assert_eq!(codec.verify(&altered), Err(InvalidLink), "{i}");
            }
        }
        let other = super::tests::codec("another-key-of-at-least-thirty-two-bytes-000");
        assert_eq!(other.verify(&token), Err(InvalidLink));
        for shape in ["", "abc", &format!("{token}A"), &token[..TOKEN_LEN - 1]] {
            assert_eq!(codec.verify(shape), Err(InvalidLink), "{shape}");
        }
    }
}
