//! `POST /api/v1/webhooks/messaging`: the messaging service's delivery receipts (delivered, bounced, opened,
//! clicked). Public, so everything rests on the signature: `X-Signature: t=<unix seconds>,v1=<hex>` where
//! v1 is HMAC-SHA256 over `"{t}.{body}"` with `[providers.messaging] webhook_secret`, compared in constant
//! time, and `t` within `[crm.messages] webhook_tolerance_secs` of now. Each receipt is applied once (by
//! its event id): an activity on the message's profile and the ledger's status moved forward. A receipt
//! for a message the ledger does not know is answered 200 and logged (the service must not retry it).

use actix_web::{HttpRequest, HttpResponse, web};
use aws_lc_rs::hmac;
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Messages;
use super::activity::{self, Activity};
use crate::crm::profile;
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;

pub const SIGNATURE_HEADER: &str = "x-signature";
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = CrmMessageReceiptKind)]
pub enum ReceiptKind {
    Delivered,
    Bounced,
    Opened,
    Clicked,
}

impl ReceiptKind {
    fn status(self) -> &'static str {
        match self {
            ReceiptKind::Delivered => "delivered",
            ReceiptKind::Bounced => "bounced",
            ReceiptKind::Opened => "opened",
            ReceiptKind::Clicked => "clicked",
        }
    }
}

/// One receipt, as the messaging service posts it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = CrmMessageReceipt)]
pub struct Receipt {
    /// The service's event id: a receipt posted again is applied once.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ReceiptKind,
    /// The service's message id (the answer to the send).
    pub message_id: String,
    pub occurred_at: DateTime<Utc>,
    /// Clicked: the link.
    #[serde(default)]
    pub url: Option<String>,
    /// Bounced: why.
    #[serde(default)]
    pub reason: Option<String>,
}

fn refused() -> ApiError {
    ApiError::new(ErrorCode::WebhookSignatureInvalid)
}

/// Checks `header` for `body` at `now`; `Err` for anything but a fresh, valid signature.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_secs: u64,
) -> Result<(), &'static str> {
    if secret.is_empty() {
        return Err("no webhook secret is configured");
    }
    let header = header.ok_or("no signature")?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if now.timestamp().abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err("the timestamp is outside the tolerance");
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let valid = signatures
        .iter()
        .any(|hex| decode_hex(hex).is_some_and(|tag| hmac::verify(&key, &signed, &tag).is_ok()));
    if valid {
        Ok(())
    } else {
        Err("the signature does not match")
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The signature header for `body` at `timestamp` (the sandbox and tests sign the same way).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[utoipa::path(post, path = "/api/v1/webhooks/messaging", tag = "crm", operation_id = "messaging_webhook",
    request_body = Receipt,
    params(("X-Signature" = Option<String>, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">`")),
    responses(
        (status = 200, description = "Applied, already applied, or about a message we do not know (ignored)"),
        (status = 400, description = "Not a receipt", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`webhook-signature-invalid`: missing, wrong or stale signature", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not applied now; post it again", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn receive(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let messages = &state.messages;
    let header = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    if let Err(why) = verify(
        messages.webhook_secret.expose_secret(),
        header,
        &body,
        messages.clock.now(),
        messages.settings.webhook_tolerance_secs,
    ) {
        tracing::warn!(why, "a messaging webhook was refused");
        return Err(refused());
    }
    let receipt: Receipt = serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(ErrorCode::BadRequest).with_detail(format!("Not a receipt: {error}"))
    })?;
    let plausible = |text: &str| {
        (1..=128).contains(&text.chars().count()) && !text.chars().any(char::is_control)
    };
    if !plausible(&receipt.id) || !plausible(&receipt.message_id) {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .with_detail("A receipt's id and message_id are 1–128 characters."));
    }
    let outcome = apply(messages, &receipt)
        .await
        .map_err(|error| {
            tracing::warn!(error = %format!("{error:#}"), receipt = %receipt.id, "a receipt could not be applied");
            ApiError::new(ErrorCode::ServiceUnavailable).with_detail("The receipt was not applied; post it again.")
        })?;
    Ok(HttpResponse::Ok().json(json!({ "status": outcome })))
}

/// Applies one verified receipt: `applied`, `duplicate` or `ignored`.
async fn apply(messages: &Messages, receipt: &Receipt) -> anyhow::Result<&'static str> {
    let db = messages.crm.db();
    let found = sqlx::query!(
        r#"SELECT id, brand_id, profile_id, channel, template_id FROM crm_messages
           WHERE provider_message_id = $1"#,
        receipt.message_id
    )
    .fetch_optional(db)
    .await?;
    let Some(message) = found else {
        tracing::info!(receipt = %receipt.id, provider_message_id = %receipt.message_id, "a receipt for a message the ledger does not know was ignored");
        return Ok("ignored");
    };
    let known = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM crm_message_receipts WHERE event_id = $1) AS "known!""#,
        receipt.id
    )
    .fetch_one(db)
    .await?;
    if known {
        return Ok("duplicate");
    }
    let mut conn = db.acquire().await?;
    let Some(profile) = profile::load(&mut conn, message.brand_id, message.profile_id).await?
    else {
        return Ok("ignored");
    };
    drop(conn);
    let brand = crate::brands::find(db, &profile.brand)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the message's brand is gone"))?;
    let now = Utc::now();
    let occurred_at = if receipt.occurred_at > now + Duration::hours(1)
        || receipt.occurred_at.timestamp() < 946_684_800
    {
        now
    } else {
        receipt.occurred_at
    };
    let mut properties = Map::new();
    properties.insert("message_id".into(), json!(message.id.to_string()));
    properties.insert("channel".into(), json!(message.channel));
    if let Some(template_id) = message.template_id {
        properties.insert("template_id".into(), json!(template_id.to_string()));
    }
    if receipt.kind == ReceiptKind::Clicked
        && let Some(url) = receipt.url.as_deref().filter(|url| is_url(url))
    {
        properties.insert("url".into(), json!(url));
    }
    if receipt.kind == ReceiptKind::Bounced
        && let Some(reason) = &receipt.reason
    {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        if !reason.trim().is_empty() {
            properties.insert("reason".into(), json!(reason));
        }
    }
    let kind = format!("message_{}", receipt.kind.status());
    let key = format!("receipt:{}", short_key(&receipt.id));
    // The activity first (a duplicate when the receipt comes again), then the receipt: a failure between
    // the two is repaired by the service posting the receipt again.
    activity::record(
        messages,
        &brand,
        Activity {
            profile_id: profile.id,
            message_id: message.id,
            kind: &kind,
            key: &key,
            occurred_at,
            properties,
        },
    )
    .await?;
    let mut tx = db.begin().await?;
    let inserted = sqlx::query!(
        r#"INSERT INTO crm_message_receipts (event_id, message_id, kind, occurred_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING"#,
        receipt.id,
        message.id,
        receipt.kind.status(),
        occurred_at
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok("duplicate");
    }
    advance(&mut tx, message.id, receipt.kind).await?;
    tx.commit().await?;
    metrics::counter!("crm_message_receipts_total", "kind" => receipt.kind.status()).increment(1);
    Ok("applied")
}

/// Moves the ledger's status forward only: sent → delivered | bounced → opened → clicked.
async fn advance(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    kind: ReceiptKind,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE crm_messages SET status = $2, updated_at = now()
           WHERE id = $1 AND (CASE status WHEN 'reserved' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                  WHEN 'bounced' THEN 2 WHEN 'opened' THEN 3 WHEN 'clicked' THEN 4 ELSE 9 END)
               < (CASE $2 WHEN 'delivered' THEN 2 WHEN 'bounced' THEN 2 WHEN 'opened' THEN 3 ELSE 4 END)"#,
        id,
        kind.status()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An event-id fragment of bounded length (a CRM event id is at most 128 characters).
fn short_key(id: &str) -> String {
    if id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return id.to_owned();
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    text.len() <= 2048
        && rest.is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-secret";

    #[test]
    fn a_fresh_signature_over_the_body_passes_and_anything_else_fails() {
        let now = Utc::now();
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, now.timestamp(), body);
        assert_eq!(verify(SECRET, Some(&header), body, now, 300), Ok(()));
        assert!(verify(SECRET, Some(&header), b"{\"id\":\"evt_2\"}", now, 300).is_err());
        assert!(verify("another-secret", Some(&header), body, now, 300).is_err());
        assert!(verify(SECRET, None, body, now, 300).is_err());
        assert!(verify("", Some(&header), body, now, 300).is_err());
        let old = sign(SECRET, now.timestamp() - 301, body);
        assert!(verify(SECRET, Some(&old), body, now, 300).is_err());
        let future = sign(SECRET, now.timestamp() + 301, body);
        assert!(verify(SECRET, Some(&future), body, now, 300).is_err());
        let truncated = &header[..header.len() - 2];
        assert!(verify(SECRET, Some(truncated), body, now, 300).is_err());
        assert!(verify(SECRET, Some("t=abc,v1=zz"), body, now, 300).is_err());
    }
}
