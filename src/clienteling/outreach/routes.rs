//! `POST …/clienteling/clients/{id}/outreach` (with `Idempotency-Key`) and `…/outreach/preview`.
//!
//! A send: the request is checked (channel, template or free text, SKUs), then — under the idempotency
//! key — consent for the channel and purpose `outreach` is asked of the CRM (`crm::consent`): without it the
//! answer is 409 `consent-required` naming the channel, and nothing reaches the send path. Otherwise the
//! message goes through the one send path (`crm::messages::send`: the ledger, consent again, the outreach
//! frequency cap, the provider) keyed by the advisor and the request's key, so a retry never sends twice,
//! and the interaction is logged once per message in the same transaction that records it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use aws_lc_rs::digest;
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::{CHANNELS, ONE_TO_ONE, OutreachRequest, OutreachSent, Preview, PreviewRequest};
use super::repo::{self, Attempt};
use crate::brands::{Brand, Clienteling, InBrand};
use crate::clienteling::interactions::log::{self, NewInteraction};
use crate::clienteling::routes_clients::{client_id, client_not_found};
use crate::clienteling::scope::Scope;
use crate::crm::consent::{self, Channel, Purpose};
use crate::crm::messages::{
    self, AdvisorContext, Content, MessageChannel, MessageContext, PreviewError, SendError,
    SendOutcome, SendRequest, Suppression, templates,
};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::state::AppState;

const MAX_TEXT: usize = 1600;
const MAX_SKUS: usize = 20;

fn consent_required(channel: &str, reason: &str) -> ApiError {
    ApiError::new(ErrorCode::ConsentRequired)
        .with_detail(format!(
            "The client has not consented to outreach on {channel}; nothing was sent."
        ))
        .with_field_errors(vec![FieldError::new("channel", reason, channel.to_owned())])
}

/// The send path's key: the advisor's own key space, so two advisors' equal keys never collide; hashed
/// when it would be longer than the ledger's 200 characters.
fn send_key(advisor: Uuid, key: &str) -> String {
    let plain = format!("outreach:{advisor}:{key}");
    if plain.chars().count() <= 200 {
        return plain;
    }
    let hash = digest::digest(&digest::SHA256, key.as_bytes());
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("outreach:{advisor}:sha256:{hex}")
}

/// Every field error of the request, and the checked SKUs.
fn check(state: &AppState, brand: &str, body: &OutreachRequest) -> (Vec<FieldError>, Vec<String>) {
    let mut errors = Vec::new();
    let channel = body.channel.as_str();
    if !CHANNELS.contains(&channel) {
        errors.push(FieldError::new(
            "channel",
            "invalid",
            "One of email, sms, whatsapp, line, wechat, kakao, lineworks.",
        ));
    } else if MessageChannel::parse(channel).is_none() {
        errors.push(FieldError::new(
            "channel",
            "not_deliverable",
            "The messaging service does not carry this channel yet; log the contact as an interaction.",
        ));
    }
    match (&body.template_id, &body.text) {
        (Some(_), Some(_)) | (None, None) => errors.push(FieldError::new(
            "template_id",
            "one_of",
            "Exactly one of template_id and text.",
        )),
        (None, Some(text)) => {
            if channel == "email" || !ONE_TO_ONE.contains(&channel) {
                errors.push(FieldError::new(
                    "text",
                    "free_text_not_allowed",
                    "Free text goes on 1:1 channels only (sms, whatsapp, line, wechat, kakao, lineworks); e-mail takes an outreach template.",
                ));
            }
            let trimmed = text.trim();
            let control = trimmed
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t');
            if trimmed.is_empty() || trimmed.chars().count() > MAX_TEXT || control {
                errors.push(FieldError::new(
                    "text",
                    "invalid",
                    format!("1–{MAX_TEXT} characters, without control characters."),
                ));
            }
        }
        (Some(_), None) => {}
    }
    if let Some(language) = &body.language
        && !crate::brands::is_locale(language)
    {
        errors.push(FieldError::new(
            "language",
            "invalid_locale",
            "A BCP 47 language tag, e.g. fr or fr-FR.",
        ));
    }
    let mut skus = Vec::new();
    if let Some(list) = &body.skus
        && !list.is_empty()
    {
        // The product_share processor's own rules, so the interaction cannot refuse what was sent.
        let checked = state
            .clienteling
            .processors()
            .processor(brand, "product_share")
            .map(|p| p.check(&json!({ "skus": list })));
        match checked {
            Some(Ok(metadata)) => {
                skus = metadata["skus"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if skus.len() > MAX_SKUS {
                    errors.push(FieldError::new("skus", "too_many", "At most 20 SKUs."));
                }
            }
            Some(Err(failures)) => {
                for failure in failures {
                    let field = failure
                        .field
                        .strip_prefix("metadata.")
                        .unwrap_or(&failure.field)
                        .to_owned();
                    errors.push(FieldError::new(field, failure.code, failure.message));
                }
            }
            None => {}
        }
    }
    (errors, skus)
}

/// The template must be the brand's, for outreach, on the request's channel.
async fn check_template(
    state: &AppState,
    brand: &Brand,
    body: &OutreachRequest,
    errors: &mut Vec<FieldError>,
) -> Result<Option<templates::Template>, ApiError> {
    let Some(id) = body.template_id else {
        return Ok(None);
    };
    let mut conn = state.db.acquire().await?;
    let template = templates::load(&mut conn, brand.id, id).await?;
    match &template {
        None => errors.push(FieldError::new(
            "template_id",
            "not_found",
            "A message template of the brand.",
        )),
        Some(t) if t.purpose != Purpose::Outreach => errors.push(FieldError::new(
            "template_id",
            "not_outreach",
            "A template with purpose outreach.",
        )),
        Some(t) if t.channel.as_str() != body.channel => errors.push(FieldError::new(
            "template_id",
            "channel_mismatch",
            format!("The template is for {}.", t.channel.as_str()),
        )),
        Some(_) => {}
    }
    Ok(template)
}

async fn advisor_context(state: &AppState, advisor: Uuid) -> Result<MessageContext, ApiError> {
    let account = crate::auth::account(&state.db, advisor).await?;
    let clip = |s: &str| s.chars().take(200).collect::<String>();
    Ok(MessageContext {
        advisor: Some(AdvisorContext {
            first_name: account
                .as_ref()
                .map(|a| clip(&a.first_name))
                .unwrap_or_default(),
            last_name: account
                .as_ref()
                .map(|a| clip(&a.last_name))
                .unwrap_or_default(),
        }),
        event: None,
    })
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/outreach", tag = "clienteling", operation_id = "send_clienteling_outreach", security(("bearer" = [])),
    description = "Sends one message to the client through the CRM's send path (consent for the channel and purpose `outreach`, the outreach frequency cap) and logs it as an interaction. A repeat with the same `Idempotency-Key` answers the first result and never sends twice.",
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters, new for each message")),
    request_body = OutreachRequest,
    responses(
        (status = 201, description = "Sent, and logged as an interaction", body = OutreachSent),
        (status = 400, description = "Missing or invalid Idempotency-Key, or malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent-required` (naming the channel), `frequency-capped`, or `request-in-progress`; nothing was sent; `client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field refused (free text on e-mail, a template not for outreach or this channel, a channel not delivered, no address for the channel), or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The messaging service refused the message", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The messaging service is unavailable; repeat with the same key (after `Retry-After`)", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn send_outreach(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<OutreachRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = IdempotencyKey::from_request(&req)?;
    let id = client_id(&path.1)?;
    let body = body.into_inner();
    let brand = in_brand.brand.clone();
    let me = in_brand.user.user_id;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let client = crate::clienteling::repo::visible(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(client_not_found)?
        .writable()?;
    drop(conn);
    let (mut errors, skus) = check(&state, &brand.slug, &body);
    let template = check_template(&state, &brand, &body, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let fingerprint = Fingerprint::of_json(
        "POST",
        &format!(
            "/api/v1/brands/{}/clienteling/clients/{id}/outreach",
            brand.slug
        ),
        &body,
    )?;
    let actor = in_brand.actor();
    let send_key = send_key(me, key.as_str());
    let pool = state.db.clone();
    idempotency::execute(&pool, me, &key, &fingerprint, move || async move {
        let work = Work {
            state: state.get_ref(),
            brand: &brand,
            advisor: me,
            client_id: id,
            store: client.store_code.clone(),
            body: &body,
            template: template.as_ref(),
            skus,
            actor: &actor,
            send_key,
        };
        let sent = work.run().await?;
        StoredResponse::json(StatusCode::CREATED, &sent)
    })
    .await
}

struct Work<'a> {
    state: &'a AppState,
    brand: &'a Brand,
    advisor: Uuid,
    client_id: Uuid,
    store: String,
    body: &'a OutreachRequest,
    template: Option<&'a templates::Template>,
    skus: Vec<String>,
    actor: &'a str,
    send_key: String,
}

impl Work<'_> {
    fn attempt(&self) -> Attempt<'_> {
        Attempt {
            brand_id: self.brand.id,
            client_id: self.client_id,
            advisor_id: self.advisor,
            channel: &self.body.channel,
            template_id: self.body.template_id,
        }
    }

    async fn refused(&self, reason: &str) -> Result<(), ApiError> {
        let mut conn = self.state.db.acquire().await?;
        repo::suppressed(&mut conn, &self.attempt(), reason).await?;
        Ok(())
    }

    async fn run(self) -> Result<OutreachSent, ApiError> {
        let channel = &self.body.channel;
        let (Some(message_channel), Some(consent_channel)) =
            (MessageChannel::parse(channel), Channel::parse(channel))
        else {
            return Err(ApiError::validation(vec![FieldError::new(
                "channel",
                "not_deliverable",
                "The messaging service does not carry this channel yet.",
            )]));
        };
        // Asked first, so a client who did not opt in never reaches the send path (no ledger row, nothing
        // logged as sent); the send path asks again under its own lock.
        let decision = {
            let mut conn = self.state.db.acquire().await?;
            consent::may_contact_on(
                &mut conn,
                self.brand.id,
                self.client_id,
                consent_channel,
                Purpose::Outreach,
            )
            .await?
        };
        if !decision.allowed {
            let reason = match decision.reason {
                consent::ContactReason::Denied => "consent_denied",
                _ => "no_consent",
            };
            self.refused(reason).await?;
            return Err(consent_required(channel, reason));
        }
        let context = advisor_context(self.state, self.advisor).await?;
        let content = match (&self.body.template_id, &self.body.text) {
            (Some(id), _) => Content::Template {
                id: *id,
                // The current version, as the send path reads it under its lock (what a preview shows),
                // never one read before: a version published meanwhile is the one sent.
                version: None,
            },
            (None, text) => Content::Text {
                subject: None,
                body: text.as_deref().unwrap_or_default().trim().to_owned(),
            },
        };
        let request = SendRequest {
            profile_id: self.client_id,
            channel: message_channel,
            purpose: Purpose::Outreach,
            content,
            idempotency_key: self.send_key.clone(),
            context,
            language: self.body.language.clone(),
            exempt_from_cap: false,
        };
        let outcome = messages::send(&self.state.messages, self.brand, &request)
            .await
            .map_err(|error| match error {
                SendError::KeyReused => ApiError::new(ErrorCode::IdempotencyKeyReused),
                SendError::InvalidKey => ApiError::from(idempotency::KeyError::Invalid),
                SendError::Internal(error) => ApiError::internal(error),
            })?;
        match outcome {
            SendOutcome::Sent { message_id, .. } => self.log(message_id).await,
            SendOutcome::Suppressed { reason, .. } => Err(self.suppressed(reason).await),
            SendOutcome::Deferred { until, .. } => {
                let wait = (until - chrono::Utc::now()).num_seconds().max(1) as u64;
                Err(ApiError::new(ErrorCode::ServiceUnavailable)
                    .with_detail("The message is held; repeat with the same key later.")
                    .with_retry_after(wait))
            }
            SendOutcome::Failed {
                retryable: true,
                retry_after_ms,
                ..
            } => Err(ApiError::new(ErrorCode::ProviderUnavailable)
                .with_detail(
                    "The messaging service did not take the message; repeat with the same key.",
                )
                .with_retry_after(retry_after_ms.map_or(1, |ms| ms.div_ceil(1000).max(1)))),
            SendOutcome::Failed { reason, .. } if reason.starts_with("provider_rejected") => {
                Err(ApiError::new(ErrorCode::ProviderError)
                    .with_detail("The messaging service refused the message."))
            }
            SendOutcome::Failed { reason, .. } => Err(ApiError::validation(vec![FieldError::new(
                "template_id",
                "not_sendable",
                reason,
            )])),
        }
    }

    async fn suppressed(&self, reason: Suppression) -> ApiError {
        if let Err(error) = self.refused(reason.as_str()).await {
            return error;
        }
        match reason {
            Suppression::NoConsent | Suppression::ConsentDenied => {
                consent_required(&self.body.channel, reason.as_str())
            }
            Suppression::FrequencyCap => {
                ApiError::new(ErrorCode::FrequencyCapped).with_detail(format!(
                    "The client already had as many outreach messages on {} as the cap allows.",
                    self.body.channel
                ))
            }
            Suppression::NoAddress => ApiError::validation(vec![FieldError::new(
                "channel",
                "no_address",
                "The client has no address for this channel.",
            )]),
        }
    }

    /// Records the message and logs its interaction, once per message.
    async fn log(&self, message_id: Uuid) -> Result<OutreachSent, ApiError> {
        let mut tx = self.state.db.begin().await?;
        let logged = match repo::sent(&mut tx, &self.attempt(), message_id).await? {
            Err(Some(interaction)) => interaction,
            _ => {
                let interaction =
                    log::log(self.state, &mut tx, self.interaction(message_id)).await?;
                repo::set_interaction(&mut tx, message_id, interaction.id).await?;
                interaction.id
            }
        };
        tx.commit().await?;
        Ok(OutreachSent {
            message_id,
            status: "sent".into(),
            client_id: self.client_id,
            channel: self.body.channel.clone(),
            template_id: self.body.template_id,
            interaction_id: logged,
        })
    }

    fn interaction(&self, message_id: Uuid) -> NewInteraction<'_> {
        let name = self.template.map(|t| t.name.clone());
        let text: Option<String> = self
            .body
            .text
            .as_deref()
            .map(|t| t.trim().chars().take(1000).collect());
        let (context, metadata): (&str, Value) = if self.skus.is_empty() {
            let topic: String = name
                .clone()
                .unwrap_or_else(|| "outreach".into())
                .chars()
                .take(200)
                .collect();
            (
                "generic",
                json!({ "topic": topic, "message_id": message_id.to_string() }),
            )
        } else {
            let mut metadata = json!({ "skus": self.skus, "message_id": message_id.to_string() });
            if let Some(text) = &text {
                metadata["message"] = json!(text);
            }
            ("product_share", metadata)
        };
        NewInteraction {
            brand: &self.brand.slug,
            brand_id: self.brand.id,
            client_id: self.client_id,
            store: self.store.clone(),
            advisor_id: self.advisor,
            channel: &self.body.channel,
            context,
            subject: Some(match &name {
                Some(name) => format!("Outreach · {}", name.chars().take(150).collect::<String>()),
                None => "Outreach".to_owned(),
            }),
            note: self.body.text.as_deref().map(|t| t.trim().to_owned()),
            metadata,
            occurred_at: chrono::Utc::now(),
            actor: self.actor,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/outreach/preview", tag = "clienteling", operation_id = "preview_clienteling_outreach", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The template rendered for the client and the calling advisor, with the consent a send would meet (nothing is sent)", body = Preview),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn preview_outreach(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let brand = &in_brand.brand;
    // Before the connection below: the advisor's account look-up takes a pool connection of its own.
    let context = advisor_context(&state, in_brand.user.user_id).await?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    crate::clienteling::repo::visible(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(client_not_found)?;
    if let Some(language) = &body.language
        && !crate::brands::is_locale(language)
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "language",
            "invalid_locale",
            "A BCP 47 language tag, e.g. fr or fr-FR.",
        )]));
    }
    let template_error = |code: &str, message: String| {
        ApiError::validation(vec![FieldError::new("template_id", code, message)])
    };
    let rendering = messages::render_for(
        &mut conn,
        brand,
        body.template_id,
        id,
        body.language.as_deref(),
        &context,
    )
    .await
    .map_err(|error| match error {
        PreviewError::UnknownTemplate => {
            template_error("not_found", "A message template of the brand.".into())
        }
        PreviewError::UnknownProfile => client_not_found(),
        PreviewError::Database(error) => error.into(),
        other => template_error("not_renderable", other.to_string()),
    })?;
    if rendering.template.purpose != Purpose::Outreach {
        return Err(template_error(
            "not_outreach",
            "A template with purpose outreach.".into(),
        ));
    }
    let decision = consent::may_contact_on(
        &mut conn,
        brand.id,
        id,
        rendering.template.channel.consent(),
        Purpose::Outreach,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Preview {
        template_id: rendering.template.id,
        version: rendering.template.version,
        channel: rendering.template.channel.as_str().to_owned(),
        language: rendering.language,
        subject: rendering.subject,
        body: rendering.body,
        consent: decision,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_keys_are_the_advisors_own_and_fit_the_ledger() {
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(send_key(one, "k-1"), format!("outreach:{one}:k-1"));
        assert_ne!(send_key(one, "k-1"), send_key(two, "k-1"));
        let long = "x".repeat(255);
        let hashed = send_key(one, &long);
        assert!(hashed.chars().count() <= 200, "{hashed}");
        assert_ne!(hashed, send_key(one, &"y".repeat(255)));
    }
}
