//! `POST/GET …/clienteling/clients/{id}/interactions` and `GET/PATCH/DELETE …/clienteling/interactions/{id}`
//! (`?as_of=` for a past state), `GET …/interactions/{id}/history`. Writes append one event and rewrite the
//! projection in the same transaction; updates and deletes name the version they expect (`If-Match`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{Created, Event, State, Updated, expected_version};
use super::processors::{CHANNELS, Wants};
use super::store::{self, NewEvent, TimelineQuery};
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::routes_clients::{client_id, client_not_found};
use crate::clienteling::scope::Scope;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Interactions;

impl Listing for Interactions {
    const DEFAULT_LIMIT: u16 = 20;
}

fn not_found() -> ApiError {
    ApiError::not_found().with_detail("No such interaction in your book.")
}

/// A store the metadata names (a store visit's) is a store of the brand: a code of nowhere, or of another
/// brand, would be shown as where the client was.
async fn check_metadata_store(
    conn: &mut PgConnection,
    brand: &str,
    metadata: &Value,
    errors: &mut Vec<FieldError>,
) -> Result<(), sqlx::Error> {
    let Some(code) = metadata.get("store").and_then(Value::as_str) else {
        return Ok(());
    };
    let known = crate::brands::is_slug(code)
        && crate::brands::missing_stores(&mut *conn, brand, &[code.to_owned()])
            .await?
            .is_empty();
    if !known {
        errors.push(FieldError::new(
            "metadata.store",
            "unknown_store",
            "A store of the brand.",
        ));
    }
    Ok(())
}

fn interaction_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found())
}

fn path_of(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/clienteling/interactions/{id}")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingCreateInteraction)]
pub struct CreateInteraction {
    /// `call`, `sms`, `email`, `whatsapp`, `wechat`, `line`, `lineworks`, `kakao`, `postal` or `action`.
    pub channel: String,
    /// `generic`, `store_visit`, `product_share`, `appointment`, `order`, `pay_by_link`, `curation`, `gift`,
    /// `event_invitation`, `after_sales`, `consultation`, `wishlist`, or one of the brand's own.
    pub context: String,
    /// When it happened; now when absent, never in the future.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Up to 200 characters.
    #[serde(default)]
    pub subject: Option<String>,
    /// Up to 4,000 characters.
    #[serde(default)]
    pub note: Option<String>,
    /// The context's fields (`product_share`: `{skus, message}`; `gift`: `{occasion, skus, budget}` …).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingUpdateInteraction)]
pub struct UpdateInteraction {
    #[serde(default)]
    pub channel: Option<String>,
    /// A string sets it, `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Value>,
    /// A string sets it, `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Value>,
    /// Replaces the context's fields (checked by its processor).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

fn text(
    field: &str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value?.trim();
    let control = value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')));
    if value.is_empty() || value.chars().count() > max || control {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1–{max} characters, without control characters."),
        ));
        return None;
    }
    Some(value.to_owned())
}

/// Keeps an explicit `null` (`Some(Value::Null)`) apart from an absent field (`None`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn check_channel(channel: &str, errors: &mut Vec<FieldError>) {
    if !CHANNELS.contains(&channel) {
        errors.push(FieldError::new(
            "channel",
            "invalid",
            format!("One of {}.", CHANNELS.join(", ")),
        ));
    }
}

fn check_time(at: Option<DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if let Some(at) = at
        && (at > Utc::now() + Duration::minutes(5) || at.timestamp() < 946_684_800)
    {
        errors.push(FieldError::new(
            "occurred_at",
            "invalid",
            "Between 2000 and now.",
        ));
    }
}

/// A nullable text field of a patch: absent → `None`, `null` → clear, a string → set.
fn patch_text(
    field: &str,
    value: Option<&Value>,
    max: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match value? {
        Value::Null => Some(None),
        Value::String(text_value) => Some(text(field, Some(text_value), max, multiline, errors)),
        _ => {
            errors.push(FieldError::new(field, "invalid", "A string or null."));
            None
        }
    }
}

/// Every write is enriched: the advisor's and the store's names and the client's snapshot always, and
/// whatever the processor asked for (`Wants`).
const PENDING: &str = "pending";

fn respond(mut response: actix_web::HttpResponseBuilder, state: &State) -> HttpResponse {
    response
        .insert_header((header::ETAG, state.etag()))
        .json(state)
}

/// The version `If-Match` names: 428 without one, 412 when it is older than what a person last wrote
/// (`content_version`). The jobs' own events after it (`enriched`, `mirrored`) change no field an advisor
/// edits, so an ETag taken before them still names the content the advisor saw.
async fn check_if_match(
    conn: &mut PgConnection,
    brand_id: Uuid,
    request: &HttpRequest,
    current: &State,
) -> Result<(), ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Err(ApiError::new(ErrorCode::IfMatchRequired));
    };
    let content = store::content_version(conn, brand_id, current.id)
        .await?
        .map_or(current.version, |(version, _)| version);
    let expected = value.to_str().ok().and_then(expected_version);
    if !expected.is_some_and(|version| (content..=current.version).contains(&version)) {
        return Err(
            ApiError::new(ErrorCode::InteractionStale).with_detail(format!(
                "The interaction is at version {} (ETag {}).",
                current.version,
                current.etag()
            )),
        );
    }
    Ok(())
}

/// Appends the next event of `current`'s stream and rewrites the projection.
async fn append_next(
    conn: &mut PgConnection,
    brand_id: Uuid,
    current: State,
    kind: &str,
    payload: Value,
    actor: &str,
) -> Result<State, ApiError> {
    let id = current.id;
    let event = store::append(
        conn,
        NewEvent {
            brand_id,
            stream_id: id,
            version: current.version + 1,
            kind,
            payload,
            actor,
        },
    )
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            ApiError::new(ErrorCode::InteractionStale)
        }
        _ => error.into(),
    })?;
    let next = State::apply(Some(current), id, &event).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("interaction {id}: {kind} cannot follow"))
    })?;
    store::project(conn, brand_id, &next).await?;
    Ok(next)
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/interactions", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    request_body = CreateInteraction,
    responses(
        (status = 201, description = "The interaction (version 1), with `Location` and `ETag`", body = State),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_interaction(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<CreateInteraction>,
) -> Result<HttpResponse, ApiError> {
    let client = client_id(&path.1)?;
    let body = body.into_inner();
    let brand_id = in_brand.brand.id;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    // Locked: an erasure of the client waits for this interaction, and then redacts it with the rest.
    let layer = crate::clienteling::repo::visible(&mut tx, &scope, client, true)
        .await?
        .ok_or_else(client_not_found)?
        .writable()?;
    let mut errors = Vec::new();
    check_channel(&body.channel, &mut errors);
    check_time(body.occurred_at, &mut errors);
    let subject = text("subject", body.subject.as_deref(), 200, false, &mut errors);
    let note = text("note", body.note.as_deref(), 4000, true, &mut errors);
    let processor = state
        .clienteling
        .processors()
        .processor(&in_brand.brand.slug, &body.context);
    let (metadata, wants) = match processor {
        None => {
            let known = state
                .clienteling
                .processors()
                .contexts(&in_brand.brand.slug);
            errors.push(FieldError::new(
                "context",
                "invalid",
                format!("One of {}.", known.join(", ")),
            ));
            (Value::Null, Wants::default())
        }
        Some(processor) => match processor.check(body.metadata.as_ref().unwrap_or(&json!({}))) {
            Ok(metadata) => {
                let wants = processor.wants(&metadata);
                (metadata, wants)
            }
            Err(field_errors) => {
                errors.extend(field_errors);
                (Value::Null, Wants::default())
            }
        },
    };
    check_metadata_store(&mut tx, &in_brand.brand.slug, &metadata, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = Uuid::now_v7();
    let occurred_at = body.occurred_at.unwrap_or_else(Utc::now);
    let created = Created {
        client_id: layer.profile_id,
        store: layer.store_code,
        advisor_id: in_brand.user.user_id,
        channel: body.channel,
        context: body.context,
        subject,
        note,
        metadata,
        enrichment_status: PENDING.to_owned(),
        occurred_at,
    };
    let payload = serde_json::to_value(&created).map_err(ApiError::internal)?;
    let event = store::append(
        &mut tx,
        NewEvent {
            brand_id,
            stream_id: id,
            version: 1,
            kind: "created",
            payload,
            actor: &in_brand.actor(),
        },
    )
    .await?;
    let interaction = State::apply(None, id, &event).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("interaction {id}: created did not fold"))
    })?;
    store::project(&mut tx, brand_id, &interaction).await?;
    store::contacted(&mut tx, brand_id, layer.profile_id).await?;
    super::after_write(
        &state,
        &mut tx,
        &in_brand.brand.slug,
        brand_id,
        &interaction,
        &wants,
    )
    .await?;
    tx.commit().await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, path_of(&in_brand.brand.slug, id)));
    Ok(respond(response, &interaction))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this context.
    pub context: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Interactions>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingInteractionPage)]
pub struct InteractionPage {
    pub items: Vec<State>,
    pub next_cursor: Option<String>,
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (at, id) = cursor.split_once('.')?;
    let at = URL_SAFE_NO_PAD.decode(at).ok()?;
    let micros = i64::from_be_bytes(at.try_into().ok()?);
    let id = Uuid::from_slice(&URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    // Within PostgreSQL's range (4713 BC on): an earlier time is a forged cursor, not a server error.
    let at = DateTime::from_timestamp_micros(micros).filter(|at| at.year() > -4712)?;
    Some((at, id))
}

fn encode_cursor(state: &State) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(state.occurred_at.timestamp_micros().to_be_bytes()),
        URL_SAFE_NO_PAD.encode(state.id.as_bytes())
    )
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/interactions", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id"), TimelineParams, Pagination<Interactions>),
    responses(
        (status = 200, description = "The client's interactions, newest first (deleted ones left out)", body = InteractionPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_interactions(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    query: web::Query<TimelineParams>,
) -> Result<HttpResponse, ApiError> {
    let client = client_id(&path.1)?;
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    if let Some(channel) = &query.channel {
        check_channel(channel, &mut errors);
    }
    if let Some(context) = &query.context
        && state
            .clienteling
            .processors()
            .processor(&in_brand.brand.slug, context)
            .is_none()
    {
        errors.push(FieldError::new(
            "context",
            "invalid",
            "A context of the brand.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let before = match &query.page.cursor {
        Some(cursor) => Some(decode_cursor(cursor.as_str()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
        })?),
        None => None,
    };
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    crate::clienteling::repo::visible(&mut conn, &scope, client, false)
        .await?
        .ok_or_else(client_not_found)?;
    let absorbed = crate::clienteling::repo::absorbed_visible(&mut conn, &scope, client).await?;
    let limit = i64::from(query.page.size());
    let mut items = store::timeline(
        &mut conn,
        &TimelineQuery {
            brand_id: in_brand.brand.id,
            client_id: client,
            absorbed: &absorbed,
            channel: query.channel.as_deref(),
            context: query.context.as_deref(),
            before,
            limit: limit + 1,
        },
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(InteractionPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The state as it stood at this time (RFC 3339), from the event history.
    pub as_of: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/interactions/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Interaction id"), AsOf),
    responses(
        (status = 200, description = "The interaction, with its `ETag`; with `as_of`, as it stood then (a deleted one too, before its deletion)", body = State),
        (status = 400, description = "A malformed `as_of`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, no such interaction in the caller's book, deleted, or not yet created at `as_of`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_interaction(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    query: web::Query<AsOf>,
) -> Result<HttpResponse, ApiError> {
    let id = interaction_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let current = store::visible(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(not_found)?;
    let shown = match query.as_of {
        None => current,
        Some(as_of) => {
            let events = store::events(&mut conn, in_brand.brand.id, id, Some(as_of)).await?;
            State::fold(id, &events).ok_or_else(not_found)?
        }
    };
    if shown.deleted_at.is_some() {
        return Err(not_found());
    }
    Ok(respond(HttpResponse::Ok(), &shown))
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/clienteling/interactions/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Interaction id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the read returned. Without it the update is refused 428; with an old one, 412")),
    request_body = UpdateInteraction,
    responses(
        (status = 200, description = "The interaction at its new version, with its `ETag`", body = State),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such interaction in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`interaction-stale`: `If-Match` names an older version", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed),
        (status = 428, description = "`if-match-required`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn update_interaction(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<UpdateInteraction>,
) -> Result<HttpResponse, ApiError> {
    let id = interaction_id(&path.1)?;
    let body = body.into_inner();
    let brand_id = in_brand.brand.id;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let current = store::visible(&mut tx, &scope, id, true)
        .await?
        .ok_or_else(not_found)?;
    if current.deleted_at.is_some() {
        return Err(not_found());
    }
    if crate::clienteling::repo::erased(&mut tx, brand_id, current.client_id).await? {
        return Err(crate::clienteling::repo::client_erased());
    }
    check_if_match(&mut tx, brand_id, &request, &current).await?;
    let mut errors = Vec::new();
    if let Some(channel) = &body.channel {
        check_channel(channel, &mut errors);
    }
    check_time(body.occurred_at, &mut errors);
    let subject = patch_text("subject", body.subject.as_ref(), 200, false, &mut errors);
    let note = patch_text("note", body.note.as_ref(), 4000, true, &mut errors);
    let mut wants = None;
    let metadata = match &body.metadata {
        None => None,
        Some(metadata) => {
            let processor = state
                .clienteling
                .processors()
                .processor(&in_brand.brand.slug, &current.context)
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!(
                        "context {} lost its processor",
                        current.context
                    ))
                })?;
            match processor.check(metadata) {
                Ok(metadata) => {
                    wants = Some(processor.wants(&metadata));
                    Some(metadata)
                }
                Err(field_errors) => {
                    errors.extend(field_errors);
                    None
                }
            }
        }
    };
    if let Some(metadata) = &metadata {
        check_metadata_store(&mut tx, &in_brand.brand.slug, metadata, &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let updated = Updated {
        channel: body.channel.filter(|channel| *channel != current.channel),
        subject: subject.filter(|subject| *subject != current.subject),
        note: note.filter(|note| *note != current.note),
        metadata: metadata.filter(|metadata| *metadata != current.metadata),
        occurred_at: body.occurred_at.filter(|at| *at != current.occurred_at),
        enrichment_status: None,
    };
    let payload = serde_json::to_value(&updated).map_err(ApiError::internal)?;
    if payload.as_object().is_some_and(|fields| fields.is_empty()) {
        // Nothing changed: no event, the same version.
        tx.rollback().await?;
        return Ok(respond(HttpResponse::Ok(), &current));
    }
    // An edit is enriched again (its names snapshot, and its products when the metadata changed).
    let updated = Updated {
        enrichment_status: Some(PENDING.to_owned()),
        ..updated
    };
    let payload = serde_json::to_value(&updated).map_err(ApiError::internal)?;
    let next = append_next(
        &mut tx,
        brand_id,
        current,
        "updated",
        payload,
        &in_brand.actor(),
    )
    .await?;
    if updated.occurred_at.is_some() {
        store::contacted(&mut tx, brand_id, next.client_id).await?;
    }
    let wants = wants
        .filter(|_| updated.metadata.is_some())
        .unwrap_or_default();
    super::after_write(
        &state,
        &mut tx,
        &in_brand.brand.slug,
        brand_id,
        &next,
        &wants,
    )
    .await?;
    tx.commit().await?;
    Ok(respond(HttpResponse::Ok(), &next))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/clienteling/interactions/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Interaction id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the read returned. Without it the deletion is refused 428; with an old one, 412")),
    responses(
        (status = 204, description = "Deleted: a `deleted` event; the history stays"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such interaction in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`interaction-stale`: `If-Match` names an older version", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`if-match-required`", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete_interaction(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = interaction_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let current = store::visible(&mut tx, &scope, id, true)
        .await?
        .ok_or_else(not_found)?;
    if current.deleted_at.is_some() {
        return Err(not_found());
    }
    check_if_match(&mut tx, brand_id, &request, &current).await?;
    let next = append_next(
        &mut tx,
        brand_id,
        current,
        "deleted",
        json!({}),
        &in_brand.actor(),
    )
    .await?;
    store::contacted(&mut tx, brand_id, next.client_id).await?;
    super::after_write(
        &state,
        &mut tx,
        &in_brand.brand.slug,
        brand_id,
        &next,
        &Wants::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingInteractionHistory)]
pub struct History {
    /// Every event of the stream, oldest first.
    pub items: Vec<Event>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/interactions/{id}/history", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Interaction id")),
    responses(
        (status = 200, description = "The audit trail: every event, a deleted interaction's too", body = History),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such interaction in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn interaction_history(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = interaction_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    store::visible(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(not_found)?;
    let items = store::events(&mut conn, in_brand.brand.id, id, None).await?;
    Ok(HttpResponse::Ok().json(History { items }))
}
