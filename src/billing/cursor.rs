//! The invoice list's opaque cursor. WHMCS pages by offset only, so the cursor carries the offset of the next
//! page *and* the position (issue date, id) of the last invoice shown: invoices issued meanwhile shift the
//! offsets, and anything not strictly after that position is skipped instead of shown twice. The cursor is
//! signed (HMAC-SHA256 with a key derived from `billing.cursor_key`, bound to the customer and the status
//! filter), so an edited or foreign cursor is a 400.

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::InvoiceFilter;

const MAX_LEN: usize = 512;
const TAG_LEN: usize = 16;
const LABEL: &[u8] = b"concierge/billing/invoice-cursor/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// WHMCS `limitstart` of the next page.
    #[serde(rename = "o")]
    pub offset: u64,
    /// The last invoice shown: the next page starts strictly after it.
    #[serde(rename = "d")]
    pub last_issued_on: NaiveDate,
    #[serde(rename = "i")]
    pub last_id: u64,
    /// The filter the cursor was made for.
    #[serde(rename = "s")]
    pub status: Option<InvoiceFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid")]
pub struct InvalidCursor;

/// Signs and checks cursors with a key derived from a server secret.
pub struct CursorCodec {
    key: hmac::Key,
}

impl CursorCodec {
    pub fn new(secret: &SecretString) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
        let derived = hmac::sign(&root, LABEL);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    fn tag(&self, user_id: Uuid, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(user_id.as_bytes());
        context.update(payload);
        let mut tag = [0_u8; TAG_LEN];
        tag.copy_from_slice(&context.sign().as_ref()[..TAG_LEN]);
        tag
    }

    pub fn encode(&self, user_id: Uuid, cursor: &Cursor) -> String {
        // Serialising these plain fields cannot fail; an empty payload would only be refused on the way back.
        let payload = serde_json::to_vec(cursor).unwrap_or_default();
        let tag = self.tag(user_id, &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    pub fn decode(&self, user_id: Uuid, text: &str) -> Result<Cursor, InvalidCursor> {
        if text.is_empty() || text.len() > MAX_LEN {
            return Err(InvalidCursor);
        }
        let (payload, tag) = text.split_once('.').ok_or(InvalidCursor)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidCursor)?;
        constant_time::verify_slices_are_equal(&tag, &self.tag(user_id, &payload))
            .map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&payload).map_err(|_| InvalidCursor)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn codec(secret: &str) -> CursorCodec {
        CursorCodec::new(&SecretString::from(secret.to_owned()))
    }

    fn cursor() -> Cursor {
        Cursor {
            offset: 20,
            last_issued_on: NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            last_id: 1002,
            status: Some(InvoiceFilter::Unpaid),
        }
    }

    #[test]
    fn a_cursor_round_trips_for_its_customer_only() {
        let codec = codec("a secret of some length");
        let user = Uuid::new_v4();
        let text = codec.encode(user, &cursor());
        assert_eq!(codec.decode(user, &text), Ok(cursor()));
        assert_eq!(codec.decode(Uuid::new_v4(), &text), Err(InvalidCursor));
        assert_eq!(
            self::codec("another secret").decode(user, &text),
            Err(InvalidCursor)
        );
    }

    #[test]
    fn an_edited_cursor_is_refused() {
        let codec = codec("a secret of some length");
        let user = Uuid::new_v4();
        let text = codec.encode(user, &cursor());
        let (_, tag) = text.split_once('.').expect("two parts");
        let forged = URL_SAFE_NO_PAD.encode(br#"{"o":0,"d":"2026-10-01","i":1,"s":null}"#);
        assert_eq!(
            codec.decode(user, &format!("{forged}.{tag}")),
            Err(InvalidCursor)
        );
        for junk in ["", ".", "abc", "abc.def", "%%%.%%%", &"a".repeat(600)] {
            assert_eq!(codec.decode(user, junk), Err(InvalidCursor), "{junk}");
        }
    }
}
