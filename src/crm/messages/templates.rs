//! Message templates: one logical template per brand, channel and purpose, with a variant (subject, body)
//! per language and a fallback language. Every save is a new version (`crm_message_template_versions`), so a
//! campaign can pin the version it was launched with and a later edit never changes what it sends.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::render;
use crate::brands::is_locale;
use crate::crm::consent::Purpose;
use crate::errors::FieldError;
use crate::integrations::messaging::Channel;

/// The most templates a brand keeps.
pub const MAX_TEMPLATES: i64 = 1000;
/// The most languages one template has.
pub const MAX_VARIANTS: usize = 30;
const MAX_BODY: usize = 50_000;
const MAX_SMS_BODY: usize = 1_600;
const MAX_SUBJECT: usize = 300;

/// The channels a template (and the send path) speaks: the messaging service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = CrmMessageChannel)]
pub enum MessageChannel {
    Email,
    Sms,
    Whatsapp,
    Line,
    Push,
}

impl MessageChannel {
    pub const ALL: [MessageChannel; 5] = [
        MessageChannel::Email,
        MessageChannel::Sms,
        MessageChannel::Whatsapp,
        MessageChannel::Line,
        MessageChannel::Push,
    ];

    pub fn as_str(self) -> &'static str {
        self.provider().as_str()
    }

    pub fn parse(text: &str) -> Option<MessageChannel> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The messaging client's channel.
    pub fn provider(self) -> Channel {
        match self {
            MessageChannel::Email => Channel::Email,
            MessageChannel::Sms => Channel::Sms,
            MessageChannel::Whatsapp => Channel::Whatsapp,
            MessageChannel::Line => Channel::Line,
            MessageChannel::Push => Channel::Push,
        }
    }

    /// The consent channel.
    pub fn consent(self) -> crate::crm::consent::Channel {
        use crate::crm::consent::Channel as C;
        match self {
            MessageChannel::Email => C::Email,
            MessageChannel::Sms => C::Sms,
            MessageChannel::Whatsapp => C::Whatsapp,
            MessageChannel::Line => C::Line,
            MessageChannel::Push => C::Push,
        }
    }
}

/// One language of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmTemplateVariant)]
pub struct Variant {
    /// BCP 47, e.g. `fr` or `fr-FR`; unique within the template.
    #[schema(example = "fr")]
    pub language: String,
    /// E-mail only, and required there (a template, like the body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The body: HTML for e-mail (values are escaped into it), plain text elsewhere.
    #[schema(example = "Bonjour {{ profile.first_name }}, …")]
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmTemplateRequest)]
pub struct TemplateRequest {
    pub name: String,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    /// The variant used when none matches the recipient's language; one of the variants' languages.
    pub fallback_language: String,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmTemplate)]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    pub fallback_language: String,
    pub variants: Vec<Variant>,
    /// Every save is a new version; a send may pin one.
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Template {
    /// The variant for `wanted` languages in order (exact tag, then its primary language), else the fallback.
    pub fn variant_for<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> Option<&Variant> {
        for language in wanted {
            let primary = language.split('-').next().unwrap_or(language);
            let found = self
                .variants
                .iter()
                .find(|v| v.language.eq_ignore_ascii_case(language))
                .or_else(|| {
                    self.variants
                        .iter()
                        .find(|v| v.language.eq_ignore_ascii_case(primary))
                });
            if found.is_some() {
                return found;
            }
        }
        self.variants
            .iter()
            .find(|v| v.language == self.fallback_language)
    }
}

fn is_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// Every rule of a template, with the fields named as in the request (`variants/1/body`).
pub fn check(request: &TemplateRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_text(&request.name, 200) {
        errors.push(FieldError::new(
            "name",
            "invalid",
            "1–200 characters, without control characters.",
        ));
    }
    if request.variants.is_empty() || request.variants.len() > MAX_VARIANTS {
        errors.push(FieldError::new(
            "variants",
            "out_of_range",
            format!("1–{MAX_VARIANTS} variants, one per language."),
        ));
    }
    if !request
        .variants
        .iter()
        .any(|v| v.language == request.fallback_language)
    {
        errors.push(FieldError::new(
            "fallback_language",
            "unknown_language",
            "The fallback language must be one of the variants' languages.",
        ));
    }
    let email = request.channel == MessageChannel::Email;
    let max_body = if request.channel == MessageChannel::Sms {
        MAX_SMS_BODY
    } else {
        MAX_BODY
    };
    for (index, variant) in request.variants.iter().enumerate() {
        let at = |field: &str| format!("variants/{index}/{field}");
        if !is_locale(&variant.language) {
            errors.push(FieldError::new(
                at("language"),
                "invalid_locale",
                "A BCP 47 language tag, e.g. fr or fr-FR.",
            ));
        } else if request.variants[..index]
            .iter()
            .any(|earlier| earlier.language.eq_ignore_ascii_case(&variant.language))
        {
            errors.push(FieldError::new(
                at("language"),
                "duplicate_language",
                "One variant per language.",
            ));
        }
        match (&variant.subject, email) {
            (None, true) => errors.push(FieldError::new(
                at("subject"),
                "required",
                "An e-mail template needs a subject.",
            )),
            (Some(_), false) => errors.push(FieldError::new(
                at("subject"),
                "not_allowed",
                "Only e-mail templates have a subject.",
            )),
            (Some(subject), true) if !is_text(subject, MAX_SUBJECT) => {
                errors.push(FieldError::new(
                    at("subject"),
                    "invalid",
                    format!("1–{MAX_SUBJECT} characters, without control characters."),
                ));
            }
            (Some(subject), true) => {
                render::check(&at("subject"), subject, request.purpose, &mut errors);
            }
            (None, false) => {}
        }
        let body_ok = !variant.body.trim().is_empty()
            && variant.body.chars().count() <= max_body
            && !variant
                .body
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        if body_ok {
            render::check(&at("body"), &variant.body, request.purpose, &mut errors);
        } else {
            errors.push(FieldError::new(
                at("body"),
                "invalid",
                format!("1–{max_body} characters; no control characters but line breaks and tabs."),
            ));
        }
    }
    errors
}

struct Row {
    id: Uuid,
    name: String,
    channel: String,
    purpose: String,
    fallback_language: String,
    variants: serde_json::Value,
    version: i32,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Template {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        let decode = |what: &str| sqlx::Error::Decode(format!("crm template {what}").into());
        Ok(Template {
            id: row.id,
            name: row.name,
            channel: MessageChannel::parse(&row.channel).ok_or_else(|| decode("channel"))?,
            purpose: Purpose::parse(&row.purpose).ok_or_else(|| decode("purpose"))?,
            fallback_language: row.fallback_language,
            variants: serde_json::from_value(row.variants).map_err(|_| decode("variants"))?,
            version: row.version,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn variants_json(variants: &[Variant]) -> Result<serde_json::Value, sqlx::Error> {
    serde_json::to_value(variants).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// The brand's templates, locked against concurrent creation, counted.
pub async fn count_locked(conn: &mut PgConnection, brand_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm-templates:' || $1::uuid::text, 0))",
        brand_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM crm_message_templates WHERE brand_id = $1"#,
        brand_id
    )
    .fetch_one(conn)
    .await
}

/// Saves `request` as template `id`: a new one at version 1, or the next version of an existing one (which
/// must be the brand's: `false` when it is not).
pub async fn save(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    request: &TemplateRequest,
    actor: &str,
    new: bool,
) -> Result<bool, sqlx::Error> {
    let variants = variants_json(&request.variants)?;
    let version = if new {
        sqlx::query_scalar!(
            r#"INSERT INTO crm_message_templates
                   (id, brand_id, name, channel, purpose, fallback_language, variants, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               RETURNING version"#,
            id,
            brand_id,
            request.name.trim(),
            request.channel.as_str(),
            request.purpose.as_str(),
            request.fallback_language,
            variants,
            actor
        )
        .fetch_one(&mut *conn)
        .await?
    } else {
        let updated = sqlx::query_scalar!(
            r#"UPDATE crm_message_templates SET name = $3, channel = $4, purpose = $5,
                   fallback_language = $6, variants = $7, version = version + 1, updated_at = now()
               WHERE brand_id = $1 AND id = $2
               RETURNING version"#,
            brand_id,
            id,
            request.name.trim(),
            request.channel.as_str(),
            request.purpose.as_str(),
            request.fallback_language,
            variants,
        )
        .fetch_optional(&mut *conn)
        .await?;
        match updated {
            Some(version) => version,
            None => return Ok(false),
        }
    };
    sqlx::query!(
        r#"INSERT INTO crm_message_template_versions
               (template_id, brand_id, version, name, channel, purpose, fallback_language, variants, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        id,
        brand_id,
        version,
        request.name.trim(),
        request.channel.as_str(),
        request.purpose.as_str(),
        request.fallback_language,
        variants,
        actor
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// The template as it is now.
pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<Template>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, name, channel, purpose, fallback_language, variants, version, created_by,
                  created_at, updated_at
           FROM crm_message_templates WHERE brand_id = $1 AND id = $2"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    row.map(Template::try_from).transpose()
}

/// The template at `version` (kept after the template is deleted), as it was saved.
pub async fn load_version(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    version: i32,
) -> Result<Option<Template>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT template_id AS id, name, channel, purpose, fallback_language, variants, version,
                  created_by, created_at, created_at AS updated_at
           FROM crm_message_template_versions
           WHERE brand_id = $1 AND template_id = $2 AND version = $3"#,
        brand_id,
        id,
        version
    )
    .fetch_optional(conn)
    .await?;
    row.map(Template::try_from).transpose()
}

/// The brand's templates, oldest first.
pub async fn list(conn: &mut PgConnection, brand_id: Uuid) -> Result<Vec<Template>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, name, channel, purpose, fallback_language, variants, version, created_by,
                  created_at, updated_at
           FROM crm_message_templates WHERE brand_id = $1 ORDER BY created_at, id"#,
        brand_id
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Template::try_from).collect()
}

/// Deletes the template (its versions stay for the sends that pinned them); `false` when not the brand's.
pub async fn delete(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM crm_message_templates WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
