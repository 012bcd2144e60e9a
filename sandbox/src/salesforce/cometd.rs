//! `POST /cometd/{version}`: the Bayeux long-polling subset a Streaming API client needs — handshake,
//! subscribe with the replay extension, connect (held until events arrive or the timeout passes),
//! unsubscribe and disconnect. Messages may arrive alone or batched in an array.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::base64;
use super::error_response;
use super::errors::SalesforceError;
use super::events::{DeliveredEvent, EventBus, SubscribeError};
use crate::SandboxState;

const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 25_000;
/// Salesforce's own advice; longer client requests are cut to it.
const MAX_CONNECT_TIMEOUT_MS: u64 = 110_000;

pub async fn endpoint(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    let salesforce = &state.salesforce;
    if let Err(error) = salesforce.sessions.require(&req) {
        return error_response(&error);
    }
    let version_ok = req
        .match_info()
        .get("version")
        .is_some_and(|v| super::is_api_version(&format!("v{v}")));
    if !version_ok {
        return error_response(&SalesforceError::not_found());
    }
    let messages = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(messages)) if !messages.is_empty() => messages,
        Ok(message @ Value::Object(_)) => vec![message],
        _ => {
            return HttpResponse::BadRequest().json(json!([{
                "successful": false,
                "error": "400::Bad request: expected a Bayeux message or an array of them",
            }]));
        }
    };

    let bus = &salesforce.events;
    let mut replies = Vec::new();
    let mut connect = None;
    for message in &messages {
        match message.get("channel").and_then(Value::as_str) {
            Some("/meta/handshake") => replies.push(handshake(bus, message)),
            Some("/meta/subscribe") => replies.push(subscribe(bus, message)),
            Some("/meta/unsubscribe") => replies.push(unsubscribe(bus, message)),
            Some("/meta/disconnect") => replies.push(disconnect(bus, message)),
            // Answered last, after the other messages of the batch took effect.
            Some("/meta/connect") => connect = Some(message),
            channel => replies.push(with_id(
                message,
                json!({
                    "channel": channel,
                    "successful": false,
                    "error": "400::Unsupported channel",
                }),
            )),
        }
    }
    if let Some(message) = connect {
        replies.extend(long_poll(bus, message).await);
    }
    HttpResponse::Ok().json(replies)
}

/// Bayeux replies echo the message `id` when the client sent one.
fn with_id(message: &Value, mut reply: Value) -> Value {
    if let (Some(id), Value::Object(fields)) = (message.get("id"), &mut reply) {
        fields.insert("id".into(), id.clone());
    }
    reply
}

fn client_id(message: &Value) -> &str {
    message
        .get("clientId")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn handshake(bus: &EventBus, message: &Value) -> Value {
    let client_id = bus.handshake();
    with_id(
        message,
        json!({
            "channel": "/meta/handshake",
            "successful": true,
            "clientId": client_id,
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "ext": { "replay": true },
        }),
    )
}

fn subscribe(bus: &EventBus, message: &Value) -> Value {
    let client = client_id(message);
    let subscription = message
        .get("subscription")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let replay = message
        .get("ext")
        .and_then(|ext| ext.get("replay"))
        .and_then(|replay| replay.get(subscription))
        .and_then(|id| id.as_i64().or_else(|| id.as_str()?.trim().parse().ok()))
        .unwrap_or(super::events::REPLAY_NEW);
    let mut reply = json!({
        "channel": "/meta/subscribe",
        "clientId": client,
        "subscription": subscription,
        "successful": true,
    });
    if let Err(error) = bus.subscribe(client, subscription, replay)
        && let Value::Object(fields) = &mut reply
    {
        let text = match error {
            SubscribeError::UnknownClient => {
                fields.insert("advice".into(), json!({ "reconnect": "handshake" }));
                "403::Unknown client".to_owned()
            }
            SubscribeError::UnknownChannel => format!(
                "400::The channel you requested to subscribe to does not exist {{{subscription}}}"
            ),
            SubscribeError::InvalidReplayId(n) => format!(
                "400::The replayId {n} you provided was invalid. Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
            ),
        };
        fields.insert("successful".into(), false.into());
        fields.insert("error".into(), text.into());
    }
    with_id(message, reply)
}

fn unsubscribe(bus: &EventBus, message: &Value) -> Value {
    let client = client_id(message);
    let subscription = message
        .get("subscription")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let successful = bus.unsubscribe(client, subscription);
    with_id(
        message,
        json!({
            "channel": "/meta/unsubscribe",
            "clientId": client,
            "subscription": subscription,
            "successful": successful,
        }),
    )
}

fn disconnect(bus: &EventBus, message: &Value) -> Value {
    let client = client_id(message);
    bus.disconnect(client);
    with_id(
        message,
        json!({ "channel": "/meta/disconnect", "clientId": client, "successful": true }),
    )
}

fn unknown_client(message: &Value) -> Value {
    with_id(
        message,
        json!({
            "channel": "/meta/connect",
            "successful": false,
            "error": "403::Unknown client",
            "advice": { "reconnect": "handshake" },
        }),
    )
}

/// The events for the client (once each), then the connect reply; waits while there are none.
async fn long_poll(bus: &EventBus, message: &Value) -> Vec<Value> {
    let client = client_id(message);
    if !bus.is_client(client) {
        return vec![unknown_client(message)];
    }
    let timeout_ms = message
        .get("advice")
        .and_then(|advice| advice.get("timeout"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS)
        .min(MAX_CONNECT_TIMEOUT_MS);
    let Some(events) = bus.wait(client, Duration::from_millis(timeout_ms)).await else {
        return vec![unknown_client(message)];
    };
    let mut replies: Vec<Value> = events.iter().map(event_message).collect();
    replies.push(with_id(
        message,
        json!({
            "channel": "/meta/connect",
            "clientId": client,
            "successful": true,
            "advice": { "reconnect": "retry", "interval": 0, "timeout": MAX_CONNECT_TIMEOUT_MS },
        }),
    ));
    replies
}

fn event_message(event: &DeliveredEvent) -> Value {
    json!({
        "channel": event.channel,
        "data": {
            "schema": schema_id(&event.channel),
            "payload": Value::Object(event.payload.clone()),
            "event": { "replayId": event.replay_id, "EventUuid": event.uuid },
        },
    })
}

/// A stable, opaque schema id per event type (Salesforce's are 22-character hashes of the schema).
fn schema_id(channel: &str) -> String {
    let hash = |seed: u64| {
        channel.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mut bytes = hash(0xcbf2_9ce4_8422_2325).to_be_bytes().to_vec();
    bytes.extend(hash(0x84222325_cbf29ce4).to_be_bytes());
    base64::encode(&bytes)
        .replace('+', "-")
        .replace('/', "_")
        .chars()
        .take(22)
        .collect()
}
