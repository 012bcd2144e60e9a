//! What the messaging service is sent and answers. `Debug` masks recipients and bodies (a body may carry a
//! password-reset link), so these can be logged safely.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::telemetry::redact;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
    Line,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Line => "line",
            Channel::Push => "push",
        }
    }

    /// The recipient as it may appear in logs.
    pub fn mask_recipient(self, to: &str) -> String {
        match self {
            Channel::Email => redact::email(to),
            Channel::Sms | Channel::Whatsapp => redact::phone(to),
            Channel::Line | Channel::Push => redact::secret(to).to_owned(),
        }
    }
}

#[derive(Clone, PartialEq, Serialize)]
pub struct OutgoingMessage {
    pub channel: Channel,
    /// An e-mail address, an E.164 number (SMS, WhatsApp), a LINE user id or a push device token.
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl OutgoingMessage {
    pub fn new(channel: Channel, to: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            channel,
            to: to.into(),
            template: None,
            subject: None,
            body: body.into(),
            metadata: None,
        }
    }

    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn with_template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("channel", &self.channel)
            .field("to", &self.channel.mask_recipient(&self.to))
            .field("template", &self.template)
            .field(
                "body",
                &format_args!("[{} characters]", self.body.chars().count()),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Queued,
    Sent,
    Delivered,
    Failed,
    /// A status this client does not know yet.
    #[serde(other)]
    Unknown,
}

/// The answer to a send.
#[derive(Clone, PartialEq, Deserialize)]
pub struct SentMessage {
    pub id: String,
    pub status: MessageStatus,
    pub channel: Channel,
    pub to: String,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for SentMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentMessage")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("channel", &self.channel)
            .field("to", &self.channel.mask_recipient(&self.to))
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Where a message is now.
#[derive(Clone, PartialEq, Deserialize)]
pub struct MessageState {
    pub id: String,
    pub status: MessageStatus,
    pub channel: Channel,
    pub to: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why a `failed` message failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The key that made it (in lookups by key).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl fmt::Debug for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageState")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("channel", &self.channel)
            .field("to", &self.channel.mask_recipient(&self.to))
            .field("updated_at", &self.updated_at)
            .field("error", &self.error.as_deref().map(redact::scrub))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_recipients_and_never_shows_a_body() {
        let message = OutgoingMessage::new(
            Channel::Email,
            "jane.doe@example.com",
            "Reset your password: https://portal.example.com/reset?token=abc123",
        )
        .with_subject("Your password, Jane");
        let sms = OutgoingMessage::new(Channel::Sms, "+819012345678", "Your code is 424242");
        let state: MessageState = serde_json::from_value(serde_json::json!({
            "id": "msg_1", "status": "failed", "channel": "email", "to": "jane.doe@example.com",
            "created_at": "2026-01-15T09:00:00Z", "updated_at": "2026-01-15T09:00:01Z",
            "error": "mailbox jane.doe@example.com does not exist"
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let printed = format!("{message:?} {sms:?} {state:?}");
        for value in ["jane.doe@", "abc123", "reset?", "Jane", "9012345", "424242"] {
            assert!(!printed.contains(value), "{value:?} in {printed}");
        }
        assert!(printed.contains("j***@example.com"), "{printed}");
    }
}
