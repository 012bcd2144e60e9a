//! A privacy request as the API shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// The legal deadline, from the request: a month (GDPR art. 12(3)), counted as 30 days.
pub const DUE_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PrivacyRequestKind)]
pub enum Kind {
    Export,
    Erasure,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Export => "export",
            Kind::Erasure => "erasure",
        }
    }
}

/// Who asked: a staff member in a role, or the person themself through the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PrivacyRequester)]
pub struct Requester {
    /// `staff` or `customer`.
    pub kind: String,
    pub user_id: Uuid,
    /// The role a staff member acted in (`admin`, `marketer`); absent for a customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PrivacyReceipt)]
pub struct Receipt {
    pub system: String,
    /// The system's own reference for what it did.
    pub reference: Option<String>,
    pub status: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PrivacyRequestStep)]
pub struct Step {
    /// The part of the export (`crm`, `clienteling`, `portal_whmcs`…) or the system an erasure reaches.
    pub part: String,
    /// `pending`, `running`, `completed` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// Why the last attempt failed, while it is being retried (or why it gave up).
    pub last_error: Option<String>,
    /// Records exported, per file of the part.
    #[schema(value_type = Option<Object>)]
    pub counts: Option<Value>,
    pub receipt: Option<Receipt>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PrivacyProgress)]
pub struct Progress {
    pub done: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PrivacyDownload)]
pub struct Download {
    /// A signed link; whoever holds it may download the archive until it expires.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub size_bytes: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrivacyRequest {
    pub id: Uuid,
    /// The brand's slug.
    pub brand: String,
    pub kind: Kind,
    /// `pending`, `running`, `completed` or `failed`.
    pub status: String,
    /// The CRM profile; absent for a portal customer the CRM does not know.
    pub profile_id: Option<Uuid>,
    pub requested_by: Requester,
    pub created_at: DateTime<Utc>,
    /// The legal deadline (30 days after the request).
    pub due_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    pub steps: Vec<Step>,
    /// Once an export is complete, and until its archive expires.
    pub download: Option<Download>,
}
