//! `…/crm/message-caps`: the brand's frequency caps, per purpose (each counted per profile and channel).
//! A purpose the brand set no cap for follows `[crm.messages.caps]`; PUT replaces the brand's own caps.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::brands::{InBrand, Marketing};
use crate::config::MessageSettings;
use crate::crm::consent::Purpose;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

/// At most this many messages per window: past it a cap no longer protects anyone.
pub const MAX_MESSAGES: u32 = 10_000;
/// A minute to a leap year.
pub const MIN_WINDOW_SECS: u32 = 60;
pub const MAX_WINDOW_SECS: u32 = 366 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmMessageCapSource)]
pub enum CapSource {
    /// Set by the brand.
    Brand,
    /// The configured default (`[crm.messages.caps]`).
    Default,
}

/// The cap that applies to one purpose.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmMessageCap)]
pub struct Cap {
    pub purpose: Purpose,
    /// At most this many messages of the purpose per profile and channel in any `window_secs` (0: none).
    pub max_messages: u32,
    pub window_secs: u64,
    pub source: CapSource,
}

/// The caps in force; a purpose not listed has none.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmMessageCaps)]
pub struct Caps {
    pub caps: Vec<Cap>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMessageCapRequest)]
pub struct CapRequest {
    pub purpose: Purpose,
    /// 0–10,000; 0 holds every message of the purpose.
    pub max_messages: u32,
    /// 60–31,622,400 (a minute to 366 days).
    pub window_secs: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMessageCapsRequest)]
pub struct CapsRequest {
    /// The brand's own caps, one per purpose at most; the purposes left out follow the configured default.
    pub caps: Vec<CapRequest>,
}

fn check(request: &CapsRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if request.caps.len() > Purpose::ALL.len() {
        errors.push(FieldError::new(
            "caps",
            "out_of_range",
            "One cap per purpose at most.",
        ));
        return errors;
    }
    for (index, cap) in request.caps.iter().enumerate() {
        if request.caps[..index]
            .iter()
            .any(|earlier| earlier.purpose == cap.purpose)
        {
            errors.push(FieldError::new(
                format!("caps/{index}/purpose"),
                "duplicate_purpose",
                "One cap per purpose.",
            ));
        }
        if cap.max_messages > MAX_MESSAGES {
            errors.push(FieldError::new(
                format!("caps/{index}/max_messages"),
                "out_of_range",
                format!("0–{MAX_MESSAGES}."),
            ));
        }
        if !(MIN_WINDOW_SECS..=MAX_WINDOW_SECS).contains(&cap.window_secs) {
            errors.push(FieldError::new(
                format!("caps/{index}/window_secs"),
                "out_of_range",
                format!("{MIN_WINDOW_SECS}–{MAX_WINDOW_SECS} seconds."),
            ));
        }
    }
    errors
}

async fn in_force(
    conn: &mut PgConnection,
    settings: &MessageSettings,
    brand_id: Uuid,
) -> Result<Caps, sqlx::Error> {
    let own = sqlx::query!(
        "SELECT purpose, max_messages, window_secs FROM crm_message_caps WHERE brand_id = $1",
        brand_id
    )
    .fetch_all(conn)
    .await?;
    let mut caps = Vec::new();
    for &purpose in Purpose::ALL {
        let cap = match own.iter().find(|row| row.purpose == purpose.as_str()) {
            Some(row) => Some(Cap {
                purpose,
                max_messages: u32::try_from(row.max_messages).unwrap_or(0),
                window_secs: u64::try_from(row.window_secs).unwrap_or(1),
                source: CapSource::Brand,
            }),
            None => settings.caps.get(purpose.as_str()).map(|cap| Cap {
                purpose,
                max_messages: cap.max_messages,
                window_secs: cap.window_secs,
                source: CapSource::Default,
            }),
        };
        caps.extend(cap);
    }
    Ok(Caps { caps })
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/message-caps", tag = "crm", operation_id = "get_crm_message_caps", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The frequency cap of each purpose that has one: the brand's own, else the configured default", body = Caps),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let caps = in_force(&mut conn, &state.messages.settings, in_brand.brand.id).await?;
    Ok(HttpResponse::Ok().json(caps))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/message-caps", tag = "crm", operation_id = "replace_crm_message_caps", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = CapsRequest,
    responses(
        (status = 200, description = "The caps now in force (sends from now on count against them)", body = Caps),
        (status = 400, description = "Malformed JSON, or a purpose that is not one", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<CapsRequest>,
) -> Result<HttpResponse, ApiError> {
    let errors = check(&body);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    // Two replacements at once: one after the other, never a mix of both (nor a deadlock between them).
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm-message-caps:' || $1::uuid::text, 0))",
        brand_id
    )
    .execute(&mut *tx)
    .await?;
    let kept: Vec<String> = body
        .caps
        .iter()
        .map(|cap| cap.purpose.as_str().to_owned())
        .collect();
    sqlx::query!(
        "DELETE FROM crm_message_caps WHERE brand_id = $1 AND NOT (purpose = ANY($2))",
        brand_id,
        &kept
    )
    .execute(&mut *tx)
    .await?;
    for cap in &body.caps {
        sqlx::query!(
            r#"INSERT INTO crm_message_caps (brand_id, purpose, max_messages, window_secs)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (brand_id, purpose) DO UPDATE
               SET max_messages = EXCLUDED.max_messages, window_secs = EXCLUDED.window_secs,
                   updated_at = now()"#,
            brand_id,
            cap.purpose.as_str(),
            i32::try_from(cap.max_messages).unwrap_or(i32::MAX),
            i32::try_from(cap.window_secs).unwrap_or(i32::MAX)
        )
        .execute(&mut *tx)
        .await?;
    }
    let caps = in_force(&mut tx, &state.messages.settings, brand_id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(caps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_bounded_and_one_per_purpose() {
        let cap = |purpose, max_messages, window_secs| CapRequest {
            purpose,
            max_messages,
            window_secs,
        };
        let ok = CapsRequest {
            caps: vec![
                cap(Purpose::Marketing, 0, MIN_WINDOW_SECS),
                cap(Purpose::Events, MAX_MESSAGES, MAX_WINDOW_SECS),
            ],
        };
        assert!(check(&ok).is_empty());
        let bad = CapsRequest {
            caps: vec![
                cap(Purpose::Marketing, MAX_MESSAGES + 1, 59),
                cap(Purpose::Marketing, 1, MAX_WINDOW_SECS + 1),
            ],
        };
        let fields: Vec<_> = check(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "caps/0/max_messages",
                "caps/0/window_secs",
                "caps/1/purpose",
                "caps/1/window_secs"
            ]
        );
    }
}
