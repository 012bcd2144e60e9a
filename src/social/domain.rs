//! The API's types: connected accounts (never their tokens), posts and their per-network targets.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SocialNetwork)]
pub enum Network {
    Facebook,
    Instagram,
    X,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Facebook => "facebook",
            Network::Instagram => "instagram",
            Network::X => "x",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "facebook" => Some(Network::Facebook),
            "instagram" => Some(Network::Instagram),
            "x" => Some(Network::X),
            _ => None,
        }
    }
}

/// Connects a Facebook Page (page id + page access token), an Instagram professional account (IG user
/// id + token) or an X account (user id + OAuth 2.0 user token with its refresh token). Connecting an
/// account the brand already has replaces its tokens (reconnecting after `needs_reauth`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SocialConnectAccountRequest)]
pub struct ConnectAccountRequest {
    pub network: Network,
    /// The page id, IG user id or X user id (digits).
    #[schema(min_length = 1, max_length = 30, pattern = "^[0-9]{1,30}$")]
    pub external_id: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Never returned, never logged; stored encrypted.
    #[schema(value_type = String, min_length = 1, max_length = 4096, write_only)]
    pub access_token: SecretString,
    /// X only (required there): rotated on each refresh.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096, write_only)]
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Seconds until the access token expires (X: 7200 when absent).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31536000)]
    pub expires_in: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SocialAccount)]
pub struct Account {
    pub id: Uuid,
    pub network: Network,
    pub external_id: String,
    pub name: String,
    /// `active`, or `needs_reauth` once the network refused its token (its posts stop with that reason).
    pub status: String,
    pub status_reason: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub paused_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SocialCreatePostRequest)]
pub struct CreatePostRequest {
    #[serde(default)]
    #[schema(max_length = 63206)]
    pub text: String,
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub link: Option<String>,
    /// Image URLs (Instagram requires exactly one).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub media: Vec<String>,
    /// Account ids of the brand.
    #[schema(min_items = 1, max_items = 10)]
    pub targets: Vec<Uuid>,
    /// When to publish; now when absent.
    #[serde(default)]
    pub publish_at: Option<DateTime<Utc>>,
}

/// Changes a post that is still `scheduled`; absent fields stay. `link: ""` removes the link.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SocialPatchPostRequest)]
pub struct PatchPostRequest {
    #[serde(default)]
    #[schema(max_length = 63206)]
    pub text: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub link: Option<String>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub media: Option<Vec<String>>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 10)]
    pub targets: Option<Vec<Uuid>>,
    #[serde(default)]
    pub publish_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SocialPostTarget)]
pub struct Target {
    pub account_id: Uuid,
    pub network: Network,
    /// `scheduled`, `publishing` (sending, or deferred until `not_before`), `published`, `failed`,
    /// `needs_reauth`.
    pub status: String,
    pub network_post_id: Option<String>,
    pub permalink: Option<String>,
    /// The network's error (failed, needs_reauth).
    pub error: Option<String>,
    /// Deferred (rate limit, quota, back-off) until then, and why.
    pub not_before: Option<DateTime<Utc>>,
    pub deferred_reason: Option<String>,
    pub attempts: i32,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SocialPost)]
pub struct Post {
    pub id: Uuid,
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<String>,
    pub publish_at: DateTime<Utc>,
    /// `scheduled`, `publishing`, `published`, `partially_published`, `failed`.
    pub status: String,
    pub targets: Vec<Target>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The post's status from its targets'.
pub fn overall(targets: &[Target]) -> &'static str {
    let count = |s: &str| targets.iter().filter(|t| t.status == s).count();
    let published = count("published");
    let scheduled = count("scheduled");
    let finished = published + count("failed") + count("needs_reauth");
    if targets.is_empty() {
        "failed"
    } else if scheduled == targets.len() {
        "scheduled"
    } else if finished < targets.len() {
        "publishing"
    } else if published == targets.len() {
        "published"
    } else if published > 0 {
        "partially_published"
    } else {
        "failed"
    }
}
