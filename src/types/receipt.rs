//! What an erasure step answers once it is done: which system, its reference for what it erased, the
//! outcome and when. Every context's and every provider's erasure function answers one, so a privacy
//! request can show them side by side.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// This run erased (or anonymised, or closed) it.
    Done,
    /// Nothing was left to do: an earlier run did it, or the system no longer had it (a 404 on delete).
    AlreadyDone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Receipt {
    /// `crm`, `clienteling`, `salesforce`, `whmcs`, `messaging`, `portal` …
    pub system: String,
    /// The system's own reference for what was erased (a profile id, a Contact id, a WHMCS client id …).
    pub reference: String,
    pub status: ReceiptStatus,
    pub at: DateTime<Utc>,
    /// What the system answered or what was done, without personal data (`HTTP 204`, `result=success`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Receipt {
    pub fn new(system: &str, reference: impl Into<String>, status: ReceiptStatus) -> Receipt {
        Receipt {
            system: system.to_owned(),
            reference: reference.into(),
            status,
            at: Utc::now(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Receipt {
        self.detail = Some(detail.into());
        self
    }
}

/// Why an erasure step against another system did not finish: `Retryable` (the system was unreachable,
/// timed out, answered 5xx or 429) is run again later; `Permanent` (refused our request) needs a person.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("retryable: {0}")]
    Retryable(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl StepError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StepError::Retryable(_))
    }

    /// A provider's failure as a step's: transient ones (`ProviderError::is_transient`) and refused
    /// credentials (an operator fixes them, then the step completes) are retryable, refusals permanent.
    pub fn from_provider(error: crate::integrations::ProviderError) -> StepError {
        use crate::integrations::ProviderError;
        match error {
            error if error.is_transient() => StepError::Retryable(error.to_string()),
            error @ ProviderError::Auth { .. } => StepError::Retryable(error.to_string()),
            error => StepError::Permanent(error.to_string()),
        }
    }
}
