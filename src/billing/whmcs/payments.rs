//! Paying an invoice through WHMCS's payment page: its single sign-on token (CreateSsoToken) →
//! [`PaymentLink`].

use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;

use crate::integrations::whmcs::raw;

/// WHMCS single sign-on tokens are valid for 60 seconds and one use.
pub const LINK_LIFETIME_SECS: i64 = 60;

/// Where the link lands, relative to the WHMCS root.
pub fn invoice_page(invoice_id: u64) -> String {
    format!("viewinvoice.php?id={invoice_id}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentLinkMapError {
    #[error("the single sign-on redirect URL is not an http(s) URL")]
    InvalidUrl,
}

impl TryFrom<raw::SsoToken> for PaymentLink {
    type Error = PaymentLinkMapError;

    fn try_from(raw: raw::SsoToken) -> Result<Self, Self::Error> {
        let url = raw.redirect_url.expose_secret().trim();
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2048
            && !url.chars().any(char::is_whitespace);
        if !valid {
            return Err(PaymentLinkMapError::InvalidUrl);
        }
        Ok(PaymentLink {
            url: url.to_owned(),
            expires_at: Utc::now() + Duration::seconds(LINK_LIFETIME_SECS),
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_make_a_link() {
        let token = |url: &str| -> raw::SsoToken {
            serde_json::from_value(serde_json::json!({ "access_token": "t", "redirect_url": url }))
                .expect("raw token")
        };
        assert!(
            PaymentLink::try_from(token(
                "https://billing.example/oauth/singlesignon.php?access_token=t"
            ))
            .is_ok()
        );
        assert!(PaymentLink::try_from(token("javascript:alert(1)")).is_err());
    }
}
