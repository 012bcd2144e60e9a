//! The one send path (docs/crm/messages.md): the ledger row of the caller's idempotency key, then the
//! address, consent, the frequency cap and quiet hours, the rendering, the reservation, the provider call
//! with a stable Idempotency-Key, the settlement and the outcome's activity.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::placeholders::{MessageContext, Values, profile_values};
use super::templates::{self, MessageChannel, Template};
use super::{Messages, activity, address, ledger, policy, render};
use crate::brands::Brand;
use crate::crm::consent::{self, ContactReason, Purpose};
use crate::crm::profile;
use crate::integrations::ProviderError;
use crate::integrations::messaging::OutgoingMessage;

/// What to send: a saved template (a pinned version, or the current one), or a text written for this one
/// person (outreach and service only: marketing and events always go through a checked template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    Template {
        id: Uuid,
        version: Option<i32>,
    },
    Text {
        subject: Option<String>,
        body: String,
    },
}

/// One logical message to one profile.
#[derive(Debug, Clone, Serialize)]
pub struct SendRequest {
    pub profile_id: Uuid,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    pub content: Content,
    /// Stable for the logical message (a campaign's recipient row, a journey's enrollment step, an
    /// advisor's request): a repeat returns the recorded outcome and never sends twice. 1–200 characters.
    #[serde(skip)]
    pub idempotency_key: String,
    pub context: MessageContext,
    /// The language wanted; else the profile's locale, the brand's, then the template's fallback.
    pub language: Option<String>,
    /// A reply the person asked for (a waitlisted guest told they have a place): consent still applies, the
    /// purpose's frequency cap does not — being capped by the brand's own mailings would leave them
    /// uninformed. Not part of the request's fingerprint (a retry from before it existed stays the same
    /// request).
    #[serde(skip)]
    pub exempt_from_cap: bool,
}

/// Why a message was not sent, for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmMessageSuppression)]
pub enum Suppression {
    /// The profile has no address for the channel.
    NoAddress,
    /// No current consent, and the purpose needs one.
    NoConsent,
    /// The profile said no.
    ConsentDenied,
    /// The profile had as many messages of the purpose on the channel in the window as the cap allows.
    FrequencyCap,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::NoAddress => "no_address",
            Suppression::NoConsent => "no_consent",
            Suppression::ConsentDenied => "consent_denied",
            Suppression::FrequencyCap => "frequency_cap",
        }
    }

    fn parse(text: &str) -> Option<Suppression> {
        [
            Suppression::NoAddress,
            Suppression::NoConsent,
            Suppression::ConsentDenied,
            Suppression::FrequencyCap,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[schema(as = CrmSendOutcome)]
pub enum SendOutcome {
    /// The messaging service took it (delivery receipts follow).
    Sent {
        message_id: Uuid,
        provider_message_id: String,
    },
    /// Not sent, for good, for this reason.
    Suppressed {
        message_id: Uuid,
        reason: Suppression,
    },
    /// Quiet hours: call again with the same key at `until`.
    Deferred {
        message_id: Uuid,
        until: DateTime<Utc>,
    },
    /// Not sent. Retryable: call again with the same key (after `retry_after_ms` when the provider said);
    /// otherwise final.
    Failed {
        message_id: Option<Uuid>,
        retryable: bool,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The key was used for another message.
    #[error("the idempotency key was used for another message")]
    KeyReused,
    #[error("an idempotency key is 1–200 characters without control characters")]
    InvalidKey,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SendError {
    fn from(error: sqlx::Error) -> Self {
        SendError::Internal(error.into())
    }
}

fn request_digest(request: &SendRequest) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    let digest = digest::digest(&digest::SHA256, &canonical);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn failed(message_id: Option<Uuid>, reason: impl Into<String>) -> SendOutcome {
    SendOutcome::Failed {
        message_id,
        retryable: false,
        reason: reason.into(),
        retry_after_ms: None,
    }
}

/// The outcome a settled row stands for.
fn recorded(entry: &ledger::Entry) -> SendOutcome {
    match entry.status.as_str() {
        "suppressed" => match entry.reason.as_deref().and_then(Suppression::parse) {
            Some(reason) => SendOutcome::Suppressed {
                message_id: entry.id,
                reason,
            },
            None => failed(Some(entry.id), entry.reason.clone().unwrap_or_default()),
        },
        "failed" => failed(Some(entry.id), entry.reason.clone().unwrap_or_default()),
        _ => SendOutcome::Sent {
            message_id: entry.id,
            provider_message_id: entry.provider_message_id.clone().unwrap_or_default(),
        },
    }
}

/// Sends one logical message to one profile of `brand` (see the module and docs/crm/messages.md).
pub async fn send(
    messages: &Messages,
    brand: &Brand,
    request: &SendRequest,
) -> Result<SendOutcome, SendError> {
    let key = request.idempotency_key.as_str();
    if !(1..=200).contains(&key.chars().count()) || key.chars().any(char::is_control) {
        return Err(SendError::InvalidKey);
    }
    let now = messages.clock.now();
    let digest = request_digest(request);
    let mut tx = messages.crm.db().begin().await?;
    let Some(profile_id) = profile::current_id(&mut tx, brand.id, request.profile_id).await? else {
        return Ok(failed(None, "unknown_profile"));
    };
    let (entry, _) = ledger::claim(
        &mut tx,
        brand.id,
        profile_id,
        key,
        &digest,
        request.channel.as_str(),
        request.purpose.as_str(),
    )
    .await?;
    if entry.request_digest != digest {
        return Err(SendError::KeyReused);
    }
    match entry.status.as_str() {
        "deferred" if entry.deferred_until.is_some_and(|until| until > now) => {
            return Ok(SendOutcome::Deferred {
                message_id: entry.id,
                until: entry.deferred_until.unwrap_or(now),
            });
        }
        "deferred" => {}
        "reserved" => {
            tx.commit().await?;
            return retry_reserved(messages, brand, entry, profile_id, request).await;
        }
        _ => {
            tx.commit().await?;
            if !entry.activity_recorded {
                activity::record_outcome(messages, brand, &entry).await;
            }
            return Ok(recorded(&entry));
        }
    }
    // New, or deferred and due: decide now.
    let Some(profile) = profile::load(&mut tx, brand.id, profile_id).await? else {
        return Ok(failed(None, "unknown_profile"));
    };
    let template = match &request.content {
        Content::Template { id, version } => {
            let found = match version {
                Some(version) => templates::load_version(&mut tx, brand.id, *id, *version).await?,
                None => templates::load(&mut tx, brand.id, *id).await?,
            };
            let Some(template) = found else {
                return finish_failed(
                    messages,
                    brand,
                    tx,
                    &entry,
                    profile_id,
                    "template_not_found",
                )
                .await;
            };
            if template.channel != request.channel || template.purpose != request.purpose {
                return finish_failed(messages, brand, tx, &entry, profile_id, "template_mismatch")
                    .await;
            }
            Some(template)
        }
        Content::Text { subject, body } => {
            let why = if matches!(request.purpose, Purpose::Marketing | Purpose::Events) {
                Some("free_text_not_allowed")
            } else if body.trim().is_empty() || body.chars().count() > 10_000 {
                Some("invalid_text")
            } else if (request.channel == MessageChannel::Email) != subject.is_some() {
                Some("subject_mismatch")
            } else {
                None
            };
            if let Some(why) = why {
                return finish_failed(messages, brand, tx, &entry, profile_id, why).await;
            }
            None
        }
    };
    if let Err((field, _)) = request.context.check() {
        return finish_failed(
            messages,
            brand,
            tx,
            &entry,
            profile_id,
            &format!("invalid_{field}"),
        )
        .await;
    }
    let Some(to) = address::resolve(&profile, request.channel) else {
        return suppress(
            messages,
            brand,
            tx,
            &entry,
            profile_id,
            Suppression::NoAddress,
        )
        .await;
    };
    let decision = consent::may_contact_on(
        &mut tx,
        brand.id,
        profile_id,
        request.channel.consent(),
        request.purpose,
    )
    .await?;
    if !decision.allowed {
        let reason = suppression_of(decision.reason);
        return suppress(messages, brand, tx, &entry, profile_id, reason).await;
    }
    ledger::lock_cap(&mut tx, profile_id).await?;
    let cap = if request.exempt_from_cap {
        None
    } else {
        policy::cap(&mut tx, &messages.settings, brand.id, request.purpose).await?
    };
    if policy::capped(&mut tx, cap, &entry, profile_id, now).await? {
        return suppress(
            messages,
            brand,
            tx,
            &entry,
            profile_id,
            Suppression::FrequencyCap,
        )
        .await;
    }
    if request.purpose == Purpose::Marketing {
        let zone = policy::timezone(&mut tx, &profile, &brand.timezone).await?;
        if let Some(until) = policy::quiet_until(&mut tx, &messages.settings, &zone, now).await? {
            ledger::decide(
                &mut tx,
                entry.id,
                profile_id,
                "deferred",
                Some("quiet_hours"),
                Some(until),
            )
            .await?;
            tx.commit().await?;
            return Ok(SendOutcome::Deferred {
                message_id: entry.id,
                until,
            });
        }
    }
    let rendered = match (&template, &request.content) {
        (Some(template), _) => render_template(template, &profile, brand, request),
        (None, Content::Text { subject, body }) => Ok(Rendered {
            language: None,
            subject: subject.clone(),
            body: if request.channel == MessageChannel::Email {
                text_as_html(body)
            } else {
                body.clone()
            },
        }),
        (None, Content::Template { .. }) => Err("template_not_found".to_owned()),
    };
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(reason) => {
            return finish_failed(messages, brand, tx, &entry, profile_id, &reason).await;
        }
    };
    let reservation = ledger::Reservation {
        profile_id,
        template_id: template.as_ref().map(|t| t.id),
        template_version: template.as_ref().map(|t| t.version),
        language: rendered.language.as_deref(),
        address: &to,
        subject: rendered.subject.as_deref(),
        body: &rendered.body,
        created_at: now,
    };
    ledger::reserve(&mut tx, entry.id, &reservation).await?;
    tx.commit().await?;
    let entry = ledger::Entry {
        profile_id,
        template_id: reservation.template_id,
        template_version: reservation.template_version,
        language: rendered.language.clone(),
        address: Some(to.clone()),
        subject: rendered.subject.clone(),
        body: Some(rendered.body.clone()),
        status: "reserved".into(),
        ..entry
    };
    deliver(messages, brand, &entry, request).await
}

/// Whether the last attempt's failure proves the provider took nothing: a 429 or refused credentials are
/// answered before anything is written. Anything else (a 5xx, a timeout, a garbled answer, an attempt a crash
/// cut short) may have sent the message.
fn proves_unsent(reason: Option<&str>) -> bool {
    matches!(reason, Some("rate_limited" | "provider_auth"))
}

/// Another attempt at a reserved message. After an ambiguous failure the provider is asked first whether the
/// key made a message: if it did, that message is the outcome (never a suppression of a message that went
/// out). Otherwise nothing went out, so consent is asked again (the profile may have said no since) before
/// the stored request is sent.
async fn retry_reserved(
    messages: &Messages,
    brand: &Brand,
    entry: ledger::Entry,
    profile_id: Uuid,
    request: &SendRequest,
) -> Result<SendOutcome, SendError> {
    if !proves_unsent(entry.reason.as_deref()) {
        let key = provider_key(brand, &request.idempotency_key);
        match messages.client.find_by_key(&key).await {
            Ok(Some(found)) => return settle_sent(messages, brand, &entry, found.id).await,
            Ok(None) => {}
            Err(error) => {
                // The row keeps its ambiguous reason: the next attempt asks again.
                let (_, reason, retry_after) = classify(&error);
                tracing::warn!(message_id = %entry.id, %error, "the messaging service could not say whether a message went out");
                return Ok(retryable(entry.id, reason, retry_after));
            }
        }
    }
    let mut tx = messages.crm.db().begin().await?;
    let Some(entry) = ledger::lock(&mut tx, entry.id).await? else {
        return Err(SendError::Internal(anyhow::anyhow!(
            "message {} vanished",
            entry.id
        )));
    };
    if entry.status != "reserved" {
        // A concurrent attempt with the same key settled it meanwhile.
        tx.commit().await?;
        return Ok(recorded(&entry));
    }
    let decision = consent::may_contact_on(
        &mut tx,
        brand.id,
        profile_id,
        request.channel.consent(),
        request.purpose,
    )
    .await?;
    if !decision.allowed {
        let reason = suppression_of(decision.reason);
        return suppress(messages, brand, tx, &entry, profile_id, reason).await;
    }
    tx.commit().await?;
    deliver(messages, brand, &entry, request).await
}

fn retryable(message_id: Uuid, reason: String, retry_after: Option<Duration>) -> SendOutcome {
    SendOutcome::Failed {
        message_id: Some(message_id),
        retryable: true,
        reason,
        retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// The provider took the message (now, or in an attempt whose answer was lost): the row is `sent`.
async fn settle_sent(
    messages: &Messages,
    brand: &Brand,
    entry: &ledger::Entry,
    provider_message_id: String,
) -> Result<SendOutcome, SendError> {
    {
        let mut conn = messages.crm.db().acquire().await?;
        ledger::settle_sent(&mut conn, entry.id, &provider_message_id, Utc::now()).await?;
    }
    let settled = ledger::Entry {
        status: "sent".into(),
        reason: None,
        provider_message_id: Some(provider_message_id.clone()),
        ..entry.clone()
    };
    activity::record_outcome(messages, brand, &settled).await;
    metrics::counter!("crm_messages_total", "outcome" => "sent", "channel" => entry.channel.clone())
        .increment(1);
    Ok(SendOutcome::Sent {
        message_id: entry.id,
        provider_message_id,
    })
}

/// A person's own text in an HTML e-mail: escaped (their markup is shown, never interpreted), line breaks kept.
fn text_as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            '\n' => html.push_str("<br>\n"),
            c => html.push(c),
        }
    }
    html
}

fn suppression_of(reason: ContactReason) -> Suppression {
    match reason {
        ContactReason::Denied => Suppression::ConsentDenied,
        _ => Suppression::NoConsent,
    }
}

struct Rendered {
    language: Option<String>,
    subject: Option<String>,
    body: String,
}

fn render_template(
    template: &Template,
    profile: &profile::Profile,
    brand: &Brand,
    request: &SendRequest,
) -> Result<Rendered, String> {
    let mut wanted: Vec<&str> = Vec::new();
    if let Some(language) = request.language.as_deref() {
        wanted.push(language);
    }
    if let Some(locale) = profile.attributes.locale.as_deref() {
        wanted.push(locale);
    }
    wanted.push(&brand.default_locale);
    let variant = template
        .variant_for(wanted)
        .ok_or_else(|| "no_variant".to_owned())?;
    let mut used = render::used(&variant.body);
    if let Some(subject) = &variant.subject {
        used.extend(render::used(subject));
    }
    if let Some(missing) = request.context.missing(used.iter().map(String::as_str)) {
        return Err(format!("missing_context_{missing}"));
    }
    let values = Values {
        profile: profile_values(profile),
        brand_name: brand.name.clone(),
        context: request.context.clone(),
    }
    .to_value();
    let html = template.channel == MessageChannel::Email;
    let body = render::render(&variant.body, &values, html)
        .map_err(|error| format!("render_failed: {error}"))?;
    let subject = match &variant.subject {
        Some(subject) => Some(
            render::render(subject, &values, false)
                .map_err(|error| format!("render_failed: {error}"))?,
        ),
        None => None,
    };
    if body.trim().is_empty() {
        return Err("empty_body".into());
    }
    Ok(Rendered {
        language: Some(variant.language.clone()),
        subject,
        body,
    })
}

async fn suppress(
    messages: &Messages,
    brand: &Brand,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    entry: &ledger::Entry,
    profile_id: Uuid,
    reason: Suppression,
) -> Result<SendOutcome, SendError> {
    ledger::decide(
        &mut tx,
        entry.id,
        profile_id,
        "suppressed",
        Some(reason.as_str()),
        None,
    )
    .await?;
    tx.commit().await?;
    let settled = ledger::Entry {
        profile_id,
        status: "suppressed".into(),
        reason: Some(reason.as_str().into()),
        ..entry.clone()
    };
    activity::record_outcome(messages, brand, &settled).await;
    Ok(SendOutcome::Suppressed {
        message_id: entry.id,
        reason,
    })
}

async fn finish_failed(
    messages: &Messages,
    brand: &Brand,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    entry: &ledger::Entry,
    profile_id: Uuid,
    reason: &str,
) -> Result<SendOutcome, SendError> {
    ledger::decide(&mut tx, entry.id, profile_id, "failed", Some(reason), None).await?;
    tx.commit().await?;
    let settled = ledger::Entry {
        profile_id,
        status: "failed".into(),
        reason: Some(reason.into()),
        ..entry.clone()
    };
    activity::record_outcome(messages, brand, &settled).await;
    Ok(failed(Some(entry.id), reason))
}

/// The provider's Idempotency-Key: the caller's key within the brand. It travels as a header value, which
/// the service takes in visible ASCII only (and trims), so any other key (accents, spaces, emoji) goes
/// base64url-encoded under a prefix of its own: the mapping stays one-to-one.
fn provider_key(brand: &Brand, key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        format!("crm:{}:{key}", brand.id)
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes());
        format!("crm64:{}:{encoded}", brand.id)
    }
}

/// Hands the reserved message to the provider and settles the row.
async fn deliver(
    messages: &Messages,
    brand: &Brand,
    entry: &ledger::Entry,
    request: &SendRequest,
) -> Result<SendOutcome, SendError> {
    let (Some(to), Some(body)) = (entry.address.clone(), entry.body.clone()) else {
        return Err(SendError::Internal(anyhow::anyhow!(
            "a reserved message {} has no address or body",
            entry.id
        )));
    };
    let Some(channel) = MessageChannel::parse(&entry.channel) else {
        return Err(SendError::Internal(anyhow::anyhow!(
            "message {} has an unknown channel",
            entry.id
        )));
    };
    let mut metadata = Map::new();
    metadata.insert("crm_message_id".into(), json!(entry.id.to_string()));
    // Only what never changes: the provider compares a repeated key's body, and a brand renamed between
    // two attempts must not make the second a different request.
    metadata.insert("brand_id".into(), json!(brand.id.to_string()));
    let mut message = OutgoingMessage::new(channel.provider(), to, body).with_metadata(metadata);
    if let Some(subject) = &entry.subject {
        message = message.with_subject(subject.clone());
    }
    if let Some(template_id) = entry.template_id {
        message = message.with_template(template_id.to_string());
    }
    {
        let mut conn = messages.crm.db().acquire().await?;
        ledger::attempt(&mut conn, entry.id).await?;
    }
    let answer = messages
        .client
        .send(&message, &provider_key(brand, &request.idempotency_key))
        .await;
    match answer {
        Ok(sent) => settle_sent(messages, brand, entry, sent.id).await,
        Err(error) => {
            let (retryable, reason, retry_after) = classify(&error);
            tracing::warn!(message_id = %entry.id, %error, retryable, "the messaging service did not take a message");
            {
                let mut conn = messages.crm.db().acquire().await?;
                ledger::settle_failed(&mut conn, entry.id, retryable, &reason).await?;
            }
            metrics::counter!("crm_messages_total", "outcome" => if retryable { "retryable" } else { "failed" }, "channel" => channel.as_str())
                .increment(1);
            if retryable {
                return Ok(self::retryable(entry.id, reason, retry_after));
            }
            let settled = ledger::Entry {
                status: "failed".into(),
                reason: Some(reason.clone()),
                ..entry.clone()
            };
            activity::record_outcome(messages, brand, &settled).await;
            Ok(failed(Some(entry.id), reason))
        }
    }
}

/// Whether a provider error is worth another attempt with the same key, and why.
fn classify(error: &ProviderError) -> (bool, String, Option<Duration>) {
    match error {
        ProviderError::RateLimited { retry_after, .. } => {
            (true, "rate_limited".into(), *retry_after)
        }
        ProviderError::Unavailable { .. } => (true, "provider_unavailable".into(), None),
        // The answer was lost or garbled; the same key tells what became of the message.
        ProviderError::Malformed { .. } => (true, "provider_malformed".into(), None),
        // Our credentials: an operator fixes them, then the same key sends.
        ProviderError::Auth { .. } => (true, "provider_auth".into(), None),
        ProviderError::Rejected { code, .. } => {
            let code: String = code.chars().take(100).collect();
            (false, format!("provider_rejected: {code}"), None)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn provider_keys_are_visible_ascii_and_one_to_one() {
        let brand = crate::brands::Brand {
            id: uuid::Uuid::nil(),
            slug: "maison".into(),
            name: "Maison".into(),
            timezone: "Europe/Paris".into(),
            default_locale: "fr-FR".into(),
            currency: "EUR".into(),
            created_at: chrono::Utc::now(),
        };
        let keys = [
            "campaign:1:2",
            "a b",
            "a b ",
            "été",
            "ete",
            "喜び",
            "crm64:x",
            "a\u{a0}b",
        ];
        let mapped: Vec<String> = keys
            .iter()
            .map(|k| super::provider_key(&brand, k))
            .collect();
        for (key, provider) in keys.iter().zip(&mapped) {
            assert!(
                provider.bytes().all(|b| b.is_ascii_graphic()),
                "{key:?} → {provider}"
            );
        }
        let unique: std::collections::HashSet<_> = mapped.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{mapped:?}");
        assert_eq!(mapped[0], format!("crm:{}:campaign:1:2", uuid::Uuid::nil()));
    }

    #[test]
    fn only_a_429_or_refused_credentials_prove_nothing_was_sent() {
        for reason in ["rate_limited", "provider_auth"] {
            assert!(super::proves_unsent(Some(reason)));
        }
        for reason in [
            None,
            Some("provider_unavailable"),
            Some("provider_malformed"),
        ] {
            assert!(!super::proves_unsent(reason), "{reason:?}");
        }
    }

    #[test]
    fn free_text_in_an_email_is_escaped_with_its_line_breaks() {
        assert_eq!(
            super::text_as_html("<a href=\"x\">Hi</a> & bye\nSam"),
            "&lt;a href=&quot;x&quot;&gt;Hi&lt;/a&gt; &amp; bye<br>\nSam"
        );
    }
}
