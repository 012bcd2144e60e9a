//! Quota top-up (`/master/addSpec/`, path guessed).

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{DATE_FORMAT, FreebitClient, SYSTEM, invalid_request};
use crate::integrations::ProviderError;
use crate::telemetry::redact::{self, Pii};

/// Freebit's hard limits on one top-up, in MB.
pub const MIN_TOP_UP_MB: u32 = 1;
pub const MAX_TOP_UP_MB: u32 = 512_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaTopUp {
    /// The line's MSISDN.
    pub account: Pii<String>,
    pub quota_mb: u32,
    /// A campaign or product code Freebit attaches to the addition.
    pub quota_code: Option<String>,
    /// When the added data stops being usable.
    pub expire: Option<NaiveDate>,
}

impl FreebitClient {
    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(&top_up.account), quota_mb = top_up.quota_mb))]
    pub async fn top_up(&self, top_up: &QuotaTopUp) -> Result<(), ProviderError> {
        if !(MIN_TOP_UP_MB..=MAX_TOP_UP_MB).contains(&top_up.quota_mb) {
            return Err(invalid_request(format!(
                "a top-up must be between {MIN_TOP_UP_MB} and {MAX_TOP_UP_MB} MB"
            )));
        }
        let mut payload = json!({
            "kind": "MVNO",
            "account": top_up.account,
            "quota": top_up.quota_mb.to_string(),
        });
        if let Value::Object(fields) = &mut payload {
            if let Some(code) = &top_up.quota_code {
                fields.insert("quotaCode".into(), Value::String(code.clone()));
            }
            if let Some(expire) = top_up.expire {
                fields.insert(
                    "expire".into(),
                    Value::String(expire.format(DATE_FORMAT).to_string()),
                );
            }
        }
        self.call_once("addSpec", "master/addSpec", payload).await?;
        Ok(())
    }
}
