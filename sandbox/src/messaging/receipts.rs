//! Signed delivery receipts, posted to the product's webhook when a test (or a demo) asks.

use actix_web::{HttpResponse, web};
use aws_lc_rs::hmac;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::failure::Failure;
use crate::SandboxState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    url: String,
}

pub async fn set_target(state: web::Data<SandboxState>, target: web::Json<Target>) -> HttpResponse {
    state.messaging.lock().webhook_url = Some(target.into_inner().url);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `t=<unix>,v1=<hex>` over `"{t}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

pub async fn post(
    state: web::Data<SandboxState>,
    id: web::Path<String>,
    trigger: web::Json<Trigger>,
) -> Result<HttpResponse, Failure> {
    if !matches!(
        trigger.kind.as_str(),
        "delivered" | "bounced" | "opened" | "clicked"
    ) {
        return Err(Failure::invalid(
            "invalid_type",
            "type is delivered, bounced, opened or clicked",
        ));
    }
    let (target, event_id) = {
        let mut store = state.messaging.lock();
        if store.find(&id).is_none() {
            return Err(Failure::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such message",
            ));
        }
        store.receipts += 1;
        let target = store
            .webhook_url
            .clone()
            .unwrap_or_else(|| state.config.messaging.webhook_url.clone());
        (
            target,
            format!("evt_{}_{}", store.receipts, uuid::Uuid::now_v7().simple()),
        )
    };
    if target.is_empty() {
        return Err(Failure::invalid(
            "no_webhook",
            "no webhook URL: PUT /__sandbox/messaging/webhook first",
        ));
    }
    let mut receipt = json!({
        "id": event_id,
        "type": trigger.kind,
        "message_id": id.as_str(),
        "occurred_at": Utc::now(),
    });
    if let Some(url) = &trigger.url {
        receipt["url"] = json!(url);
    }
    if let Some(reason) = &trigger.reason {
        receipt["reason"] = json!(reason);
    }
    let body = receipt.to_string();
    let header = signature(
        state.config.messaging.webhook_secret.expose_secret(),
        Utc::now().timestamp(),
        body.as_bytes(),
    );
    let answer = reqwest::Client::new()
        .post(&target)
        .header("content-type", "application/json")
        .header("x-signature", &header)
        .body(body.clone())
        .send()
        .await;
    let status = match answer {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    };
    Ok(HttpResponse::Ok().json(json!({
        "event_id": event_id,
        "body": body,
        "signature": header,
        "status": status,
    })))
}
