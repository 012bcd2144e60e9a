//! Stored messages and the idempotency keys that produced them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Sent,
    Delivered,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub status: Status,
    pub channel: String,
    pub to: String,
    pub template: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub metadata: Option<Map<String, Value>>,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub error: Option<String>,
}

const BOUNCING_DOMAIN: &str = "@bounce.test";
const UNREACHABLE_NUMBER: &str = "+819000000000";

impl Message {
    fn bounces(&self) -> bool {
        self.to.to_ascii_lowercase().ends_with(BOUNCING_DOMAIN) || self.to == UNREACHABLE_NUMBER
    }

    /// One step along queued → sent → delivered (or → failed for recipients that bounce).
    pub fn advance(&mut self) {
        let next = match self.status {
            Status::Queued if self.bounces() => Status::Failed,
            Status::Queued => Status::Sent,
            Status::Sent => Status::Delivered,
            done @ (Status::Delivered | Status::Failed) => done,
        };
        if next != self.status {
            self.status = next;
            self.updated_at = Utc::now();
            if next == Status::Failed {
                self.error = Some("recipient unreachable".into());
            }
        }
    }

    /// The answer to a send.
    pub fn receipt(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "channel": self.channel,
            "to": self.to,
            "created_at": self.created_at,
        })
    }

    /// The answer to a status read or a lookup by key.
    pub fn state(&self) -> Value {
        let mut state = self.receipt();
        if let Value::Object(fields) = &mut state {
            fields.insert("updated_at".into(), json!(self.updated_at));
            fields.insert("idempotency_key".into(), json!(self.idempotency_key));
            if let Some(error) = &self.error {
                fields.insert("error".into(), json!(error));
            }
        }
        state
    }
}

#[derive(Default)]
pub struct Store {
    pub messages: Vec<Message>,
    /// Idempotency key → the request body it first came with and the message it made.
    pub keys: HashMap<String, (Value, String)>,
    /// Where receipts go when set through the control API (else `[sandbox.messaging] webhook_url`).
    pub webhook_url: Option<String>,
    /// Receipts posted so far (their event ids are `evt_<n>`).
    pub receipts: u64,
}

impl Store {
    pub fn find_mut(&mut self, id: &str) -> Option<&mut Message> {
        self.messages.iter_mut().find(|message| message.id == id)
    }

    pub fn find(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|message| message.id == id)
    }
}
