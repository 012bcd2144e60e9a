//! Outreach requests and answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crm::consent::ContactDecision;

/// The channels an advisor reaches one client on. E-mail takes a template only (it is the marketing
/// channel); the others are 1:1 and take free text too.
pub const CHANNELS: [&str; 7] = [
    "email",
    "sms",
    "whatsapp",
    "line",
    "wechat",
    "kakao",
    "lineworks",
];
/// 1:1 channels: free text is allowed.
pub const ONE_TO_ONE: [&str; 6] = ["sms", "whatsapp", "line", "wechat", "kakao", "lineworks"];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingOutreachRequest)]
pub struct OutreachRequest {
    /// `email`, `sms`, `whatsapp`, `line` (delivered by the messaging service), `wechat`, `kakao`,
    /// `lineworks` (accepted, refused as `not_deliverable` until the send path carries them).
    pub channel: String,
    /// A template of the brand with purpose `outreach` and this channel. Exactly one of `template_id`
    /// and `text`.
    #[serde(default)]
    pub template_id: Option<Uuid>,
    /// Free text, 1–1,600 characters; 1:1 channels only (not e-mail).
    #[serde(default)]
    pub text: Option<String>,
    /// Products shared (at most 20 SKUs): the interaction is then a `product_share`.
    #[serde(default)]
    pub skus: Option<Vec<String>>,
    /// The template's language wanted; else the client's locale, the brand's, then the fallback.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ClientelingOutreachSent)]
pub struct OutreachSent {
    /// The send path's message (`crm_messages`; delivery receipts follow on it).
    pub message_id: Uuid,
    /// `sent`.
    pub status: String,
    pub client_id: Uuid,
    pub channel: String,
    pub template_id: Option<Uuid>,
    /// The interaction logged for it (`product_share` with SKUs, else `generic`).
    pub interaction_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingOutreachPreviewRequest)]
pub struct PreviewRequest {
    /// A template of the brand with purpose `outreach`.
    pub template_id: Uuid,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingOutreachPreview)]
pub struct Preview {
    pub template_id: Uuid,
    pub version: i32,
    pub channel: String,
    /// The variant's language that was rendered.
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Rendered for the client and the calling advisor (`{{ advisor.first_name }}`); nothing is sent.
    pub body: String,
    /// Whether a send on the template's channel would pass the client's consent now.
    pub consent: ContactDecision,
}
