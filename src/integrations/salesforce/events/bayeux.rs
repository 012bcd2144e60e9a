//! The Bayeux messages CometD exchanges, read tolerantly: every field but `channel` may be missing.

use serde::Deserialize;
use serde_json::{Value, json};

use super::PlatformEvent;
use crate::integrations::salesforce::wire;

pub(super) const HANDSHAKE: &str = "/meta/handshake";
pub(super) const SUBSCRIBE: &str = "/meta/subscribe";
pub(super) const CONNECT: &str = "/meta/connect";
pub(super) const DISCONNECT: &str = "/meta/disconnect";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Message {
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub successful: Option<bool>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub advice: Option<Advice>,
    #[serde(default)]
    pub data: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Advice {
    #[serde(default)]
    pub reconnect: Option<String>,
    #[serde(default)]
    pub timeout: Option<Value>,
    #[serde(default)]
    pub interval: Option<Value>,
}

impl Advice {
    pub fn timeout_ms(&self) -> Option<u64> {
        self.timeout
            .as_ref()
            .and_then(wire::integer)
            .and_then(|ms| u64::try_from(ms).ok())
    }

    pub fn interval_ms(&self) -> Option<u64> {
        self.interval
            .as_ref()
            .and_then(wire::integer)
            .and_then(|ms| u64::try_from(ms).ok())
    }
}

/// How the server judged a meta message (handshake, subscribe, connect).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Accepted,
    /// The session is gone (`403::Unknown client`, `advice.reconnect = handshake`); with `reauthenticate`
    /// the OAuth token is too (`401::Authentication invalid`).
    Rehandshake {
        reauthenticate: bool,
        reason: String,
    },
    Refused(String),
}

impl Message {
    pub fn verdict(&self) -> Verdict {
        let reconnect = self
            .advice
            .as_ref()
            .and_then(|advice| advice.reconnect.as_deref());
        if self.successful == Some(true) && reconnect != Some("handshake") {
            return Verdict::Accepted;
        }
        let error = self.error.clone().unwrap_or_default();
        if error.starts_with("401") {
            Verdict::Rehandshake {
                reauthenticate: true,
                reason: error,
            }
        } else if reconnect == Some("handshake") || error.starts_with("403") {
            Verdict::Rehandshake {
                reauthenticate: false,
                reason: if error.is_empty() {
                    "server advised a new handshake".to_owned()
                } else {
                    error
                },
            }
        } else if error.is_empty() {
            Verdict::Refused(format!("{} was not successful", self.channel))
        } else {
            Verdict::Refused(error)
        }
    }

    /// Salesforce refuses a subscription whose replay id it no longer retains (or never issued):
    /// `400::The replayId {42} you provided was invalid. …`.
    pub fn is_invalid_replay_id(&self) -> bool {
        self.successful != Some(true)
            && self
                .error
                .as_deref()
                .is_some_and(|error| error.to_ascii_lowercase().contains("replayid"))
    }

    /// The platform event a delivered message carries; `Err` says what is missing.
    pub fn event(&self) -> Result<PlatformEvent, &'static str> {
        let data = self.data.as_ref().ok_or("no data")?;
        let payload = data
            .get("payload")
            .filter(|payload| payload.is_object())
            .ok_or("no data.payload object")?;
        let event = data.get("event").ok_or("no data.event")?;
        let replay_id = event
            .get("replayId")
            .and_then(wire::integer)
            .ok_or("no data.event.replayId")?;
        Ok(PlatformEvent {
            channel: self.channel.clone(),
            replay_id,
            payload: payload.clone(),
            event_uuid: event
                .get("EventUuid")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

pub(super) fn handshake(id: u64) -> Value {
    json!([{
        "id": id.to_string(),
        "channel": HANDSHAKE,
        "version": "1.0",
        "minimumVersion": "1.0",
        "supportedConnectionTypes": ["long-polling"],
        "ext": {"replay": true},
    }])
}

/// The replay extension names the starting point per channel: `ext.replay = {"/event/X": -1}`.
pub(super) fn subscribe(id: u64, client_id: &str, channel: &str, replay_id: i64) -> Value {
    json!([{
        "id": id.to_string(),
        "channel": SUBSCRIBE,
        "clientId": client_id,
        "subscription": channel,
        "ext": {"replay": {channel: replay_id}},
    }])
}

pub(super) fn connect(id: u64, client_id: &str) -> Value {
    json!([{
        "id": id.to_string(),
        "channel": CONNECT,
        "clientId": client_id,
        "connectionType": "long-polling",
    }])
}

pub(super) fn disconnect(id: u64, client_id: &str) -> Value {
    json!([{
        "id": id.to_string(),
        "channel": DISCONNECT,
        "clientId": client_id,
    }])
}
