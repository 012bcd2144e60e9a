//! Custom attributes: each brand declares the names and types its profiles may carry in `custom`
//! (`crm_attribute_definitions`), and every value written is checked against its declaration.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::errors::FieldError;

/// The most custom attributes a brand may declare.
pub const MAX_DEFINITIONS: i64 = 200;
const STRING_MAX: usize = 1000;
const LIST_MAX: usize = 100;
const LIST_ITEM_MAX: usize = 200;
const ENUM_MAX: usize = 100;

/// Names a custom attribute may not take: the built-in attributes and the profile's own fields.
pub const RESERVED: &[&str] = &[
    "id",
    "brand",
    "brand_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "locale",
    "country",
    "city",
    "tier",
    "tags",
    "custom",
    "identifiers",
    "counters",
    "consent",
    "consents",
    "merged_into",
    "first_seen",
    "first_seen_at",
    "created_at",
    "updated_at",
    "lifetime_value",
    "activity_counts",
    "first_activity_at",
    "last_activity_at",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmAttributeType)]
pub enum AttributeType {
    String,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339, stored in UTC.
    Datetime,
    /// An array of strings.
    StringList,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Number => "number",
            AttributeType::Boolean => "boolean",
            AttributeType::Date => "date",
            AttributeType::Datetime => "datetime",
            AttributeType::StringList => "string_list",
        }
    }

    fn parse(text: &str) -> Option<AttributeType> {
        [
            AttributeType::String,
            AttributeType::Number,
            AttributeType::Boolean,
            AttributeType::Date,
            AttributeType::Datetime,
            AttributeType::StringList,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// `POST …/crm/attributes`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmAttributeDefinitionRequest)]
pub struct DefinitionRequest {
    /// 2–40 lower-case letters, digits and `_`, starting with a letter; not a built-in attribute's name.
    #[schema(example = "favourite_boutique")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    /// For `string` and `string_list`: the only values allowed (1–100 distinct values of 1–200 characters).
    #[serde(default)]
    pub enum_values: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmAttributeDefinition)]
pub struct Definition {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn is_name(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

impl DefinitionRequest {
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_name(&self.name) {
            errors.push(FieldError::new(
                "name",
                "invalid_name",
                "2–40 lower-case letters, digits and underscores, starting with a letter.",
            ));
        } else if RESERVED.contains(&self.name.as_str()) {
            errors.push(FieldError::new(
                "name",
                "reserved_name",
                "This is the name of a built-in attribute.",
            ));
        }
        if let Some(values) = &self.enum_values {
            let takes_enum = matches!(self.kind, AttributeType::String | AttributeType::StringList);
            let mut distinct = values.clone();
            distinct.sort();
            distinct.dedup();
            if !takes_enum {
                errors.push(FieldError::new(
                    "enum_values",
                    "not_allowed",
                    "Only string and string_list attributes take enum values.",
                ));
            } else if values.is_empty()
                || values.len() > ENUM_MAX
                || distinct.len() != values.len()
                || values
                    .iter()
                    .any(|v| !is_text(v, LIST_ITEM_MAX) || v.trim() != v)
            {
                errors.push(FieldError::new(
                    "enum_values",
                    "invalid",
                    "1–100 distinct values of 1–200 characters, without surrounding spaces.",
                ));
            }
        }
        if let Some(description) = &self.description
            && !is_text(description, 500)
        {
            errors.push(FieldError::new(
                "description",
                "invalid",
                "1–500 characters, without control characters.",
            ));
        }
        errors
    }
}

impl Definition {
    /// The value to store for `value`, or the field error (named `field`).
    pub fn check_value(&self, field: &str, value: &Value) -> Result<Value, FieldError> {
        let fail = |message: String| FieldError::new(field, "invalid_type", message);
        let allowed = |text: &str| {
            self.enum_values
                .as_ref()
                .is_none_or(|values| values.iter().any(|v| v == text))
        };
        let not_allowed = || {
            FieldError::new(
                field,
                "not_allowed_value",
                format!(
                    "Use one of: {}.",
                    self.enum_values.clone().unwrap_or_default().join(", ")
                ),
            )
        };
        match (self.kind, value) {
            (AttributeType::String, Value::String(text)) => {
                if !is_text(text, STRING_MAX) {
                    return Err(fail(format!(
                        "A string of 1–{STRING_MAX} characters, without control characters."
                    )));
                }
                if !allowed(text.trim()) {
                    return Err(not_allowed());
                }
                Ok(Value::String(text.trim().to_owned()))
            }
            (AttributeType::Number, Value::Number(number)) if number.as_f64().is_some() => {
                Ok(value.clone())
            }
            (AttributeType::Boolean, Value::Bool(_)) => Ok(value.clone()),
            // Years 1–9999 only: chrono also reads year 0, negative years and `+12345`, which it writes back
            // in forms PostgreSQL's `::date` / `::timestamptz` refuse, so one such value made every segment
            // rule over the attribute fail for the whole brand (and the profile's events with it).
            (AttributeType::Date, Value::String(text)) => {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .filter(|date| (1..=9999).contains(&date.year()))
                    .map(|date| Value::String(date.to_string()))
                    .ok_or_else(|| fail("A date, YYYY-MM-DD (years 1–9999).".into()))
            }
            (AttributeType::Datetime, Value::String(text)) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
                .filter(|at| (1..=9999).contains(&at.year()))
                .map(|at| Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
                .ok_or_else(|| {
                    fail(
                        "An RFC 3339 date and time, e.g. 2026-12-01T10:00:00Z (years 1–9999)."
                            .into(),
                    )
                }),
            (AttributeType::StringList, Value::Array(items)) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let Some(text) = item.as_str().filter(|t| is_text(t, LIST_ITEM_MAX)) else {
                        return Err(fail(format!(
                            "A list of at most {LIST_MAX} strings of 1–{LIST_ITEM_MAX} characters."
                        )));
                    };
                    if !allowed(text.trim()) {
                        return Err(not_allowed());
                    }
                    list.push(text.trim().to_owned());
                }
                list.sort();
                list.dedup();
                if items.len() > LIST_MAX {
                    return Err(fail(format!("At most {LIST_MAX} strings.")));
                }
                Ok(Value::from(list))
            }
            (kind, _) => Err(fail(format!("A value of type {}.", kind.as_str()))),
        }
    }
}

/// The brand's declarations, by name.
pub async fn definitions(
    conn: &mut PgConnection,
    brand_id: Uuid,
) -> Result<Vec<Definition>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT name, type, enum_values, description, created_at FROM crm_attribute_definitions
         WHERE brand_id = $1 ORDER BY name",
        brand_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Definition {
                name: row.name,
                kind: AttributeType::parse(&row.r#type)?,
                enum_values: row.enum_values,
                description: row.description,
                created_at: row.created_at,
            })
        })
        .collect())
}

/// Why a declaration was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum DeclareError {
    Exists,
    TooMany,
}

/// Declares an attribute. The brand's row is locked so concurrent declarations count one at a time.
pub async fn declare(
    conn: &mut PgConnection,
    brand_id: Uuid,
    request: &DefinitionRequest,
    actor: &str,
) -> Result<Result<Definition, DeclareError>, sqlx::Error> {
    sqlx::query!("SELECT id FROM brands WHERE id = $1 FOR UPDATE", brand_id)
        .fetch_optional(&mut *conn)
        .await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM crm_attribute_definitions WHERE brand_id = $1"#,
        brand_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if count >= MAX_DEFINITIONS {
        return Ok(Err(DeclareError::TooMany));
    }
    let description = request.description.as_deref().map(str::trim);
    let created_at = sqlx::query_scalar!(
        "INSERT INTO crm_attribute_definitions (brand_id, name, type, enum_values, description, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (brand_id, name) DO NOTHING
         RETURNING created_at",
        brand_id,
        request.name,
        request.kind.as_str(),
        request.enum_values.as_deref(),
        description,
        actor
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match created_at {
        None => Err(DeclareError::Exists),
        Some(created_at) => Ok(Definition {
            name: request.name.clone(),
            kind: request.kind,
            enum_values: request.enum_values.clone(),
            description: description.map(str::to_owned),
            created_at,
        }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(kind: AttributeType, enum_values: Option<Vec<&str>>) -> Definition {
        Definition {
            name: "x".into(),
            kind,
            enum_values: enum_values.map(|v| v.into_iter().map(str::to_owned).collect()),
            description: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        use AttributeType::*;
        let ok = |kind, value: Value| definition(kind, None).check_value("custom.x", &value).ok();
        let err = |kind, value: Value| definition(kind, None).check_value("custom.x", &value);
        assert_eq!(ok(String, json!(" a ")), Some(json!("a")));
        assert!(err(String, json!(1)).is_err());
        assert!(err(String, json!("")).is_err());
        assert_eq!(ok(Number, json!(1.5)), Some(json!(1.5)));
        assert!(err(Number, json!("1")).is_err());
        assert!(err(Boolean, json!("true")).is_err());
        assert_eq!(ok(Date, json!("2026-02-03")), Some(json!("2026-02-03")));
        assert!(err(Date, json!("2026-02-30")).is_err());
        assert!(err(Date, json!("0000-01-01")).is_err());
        assert!(err(Date, json!("+99999-01-01")).is_err());
        assert!(err(Datetime, json!("0000-01-01T00:00:00Z")).is_err());
        assert_eq!(ok(Date, json!("0001-01-01")), Some(json!("0001-01-01")));
        for unreadable in ["0000-01-01", "-0005-01-01", "+12345-01-01"] {
            assert!(err(Date, json!(unreadable)).is_err(), "{unreadable}");
        }
        assert!(err(Datetime, json!("0001-01-01T00:00:00+14:00")).is_err());
        assert_eq!(
            ok(Datetime, json!("2026-02-03T10:00:00+01:00")),
            Some(json!("2026-02-03T09:00:00Z"))
        );
        assert!(err(Datetime, json!("yesterday")).is_err());
        assert_eq!(
            ok(StringList, json!(["b", "a", "b"])),
            Some(json!(["a", "b"]))
        );
        assert!(err(StringList, json!(["a", 1])).is_err());
        let error = err(Boolean, json!(1)).unwrap_err();
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("custom.x", "invalid_type")
        );
    }

    #[test]
    fn enum_values_restrict_strings_and_lists() {
        let colours = definition(AttributeType::StringList, Some(vec!["red", "blue"]));
        assert!(colours.check_value("f", &json!(["red"])).is_ok());
        assert_eq!(
            colours
                .check_value("f", &json!(["green"]))
                .unwrap_err()
                .code,
            "not_allowed_value"
        );
    }

    #[test]
    fn built_in_names_and_bad_declarations_are_refused() {
        let request = |name: &str, kind, enum_values: Option<Vec<String>>| DefinitionRequest {
            name: name.into(),
            kind,
            enum_values,
            description: None,
        };
        assert!(
            request("vip_since", AttributeType::Date, None)
                .check()
                .is_empty()
        );
        assert_eq!(
            request("email", AttributeType::String, None).check()[0].code,
            "reserved_name"
        );
        assert_eq!(
            request("Bad-Name", AttributeType::String, None).check()[0].code,
            "invalid_name"
        );
        assert_eq!(
            request("size", AttributeType::Number, Some(vec!["1".into()])).check()[0].code,
            "not_allowed"
        );
        assert_eq!(
            request(
                "size",
                AttributeType::String,
                Some(vec!["s".into(), "s".into()])
            )
            .check()[0]
                .code,
            "invalid"
        );
    }
}
