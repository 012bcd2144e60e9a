//! `PATCH …/crm/profiles/{id}`: a JSON merge patch (RFC 7396) of `attributes` and `custom`. A member with a
//! value sets it (arrays such as `tags` are replaced whole), `null` (or an empty string) removes it, an
//! absent member changes nothing. Built-ins are checked by [`Attributes::check`], custom values against the
//! brand's declarations; every error is reported at once and nothing is written unless all pass.
//!
//! `attribute_times` records when each attribute set here received its value (custom attributes under their
//! own names, which never clash with built-ins), and loses the entry of an attribute removed.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::custom::Definition;
use super::profile::Attributes;
use crate::errors::FieldError;

const BUILT_INS: [&str; 10] = [
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
];

/// A checked patch: the new value (`None`: remove) of each member it names.
#[derive(Debug, Default)]
pub struct Patch {
    attributes: Vec<(&'static str, Option<Value>)>,
    custom: Vec<(String, Option<Value>)>,
}

impl Patch {
    /// The email the patch sets, in identifier form (the suppression list knows addresses so).
    pub fn email(&self) -> Option<super::identifiers::Identifier> {
        self.attributes
            .iter()
            .find(|(name, _)| *name == "email")
            .and_then(|(_, value)| value.as_ref())
            .and_then(Value::as_str)
            .and_then(|email| {
                super::identifiers::Identifier::parse(super::identifiers::EMAIL, email).ok()
            })
    }
}

fn blank(value: &Value) -> bool {
    value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty())
}

/// The normal form of a built-in attribute's value (already checked).
fn normalise(name: &str, value: &Value) -> Value {
    match (name, value) {
        ("email", Value::String(text)) => json!(text.trim().to_lowercase()),
        ("country", Value::String(text)) => json!(text.trim().to_ascii_uppercase()),
        ("birthday", Value::String(text)) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_or_else(|_| json!(text.trim()), |date| json!(date)),
        ("tags", Value::Array(tags)) => {
            let mut tags: Vec<String> = tags
                .iter()
                .filter_map(Value::as_str)
                .map(|tag| tag.trim().to_owned())
                .collect();
            tags.sort();
            tags.dedup();
            json!(tags)
        }
        (_, Value::String(text)) => json!(text.trim()),
        _ => value.clone(),
    }
}

/// Checks `body` against the built-ins and the brand's declarations.
pub fn check(body: &Value, definitions: &[Definition]) -> Result<Patch, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut patch = Patch::default();
    let Some(members) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "invalid_type",
            "The patch is an object with `attributes` and/or `custom`.",
        )]);
    };
    for (key, value) in members {
        let object = match (key.as_str(), value) {
            ("attributes" | "custom", Value::Object(object)) => object,
            ("attributes" | "custom", _) => {
                errors.push(FieldError::new(
                    key.as_str(),
                    "invalid_type",
                    "An object of the members to change.",
                ));
                continue;
            }
            _ => {
                errors.push(FieldError::new(
                    key.as_str(),
                    "unknown_field",
                    "Only `attributes` and `custom` can be patched.",
                ));
                continue;
            }
        };
        if key == "attributes" {
            check_attributes(object, &mut patch, &mut errors);
        } else {
            check_custom(object, definitions, &mut patch, &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors)
    }
}

fn check_attributes(object: &Map<String, Value>, patch: &mut Patch, errors: &mut Vec<FieldError>) {
    for (name, value) in object {
        let field = format!("attributes.{name}");
        let Some(built_in) = BUILT_INS.iter().copied().find(|b| b == name) else {
            errors.push(FieldError::new(
                field,
                "unknown_attribute",
                "Not a built-in attribute; custom attributes go in `custom`.",
            ));
            continue;
        };
        if blank(value) {
            patch.attributes.push((built_in, None));
            continue;
        }
        // One member at a time, so a wrong type is reported against its own field.
        match serde_json::from_value::<Attributes>(json!({ name: value })) {
            Err(_) => errors.push(FieldError::new(
                field,
                "invalid_type",
                "Not a value of this attribute's type.",
            )),
            Ok(single) => {
                let found = single.check("attributes.");
                if found.is_empty() {
                    patch
                        .attributes
                        .push((built_in, Some(normalise(name, value))));
                } else {
                    errors.extend(found);
                }
            }
        }
    }
}

fn check_custom(
    object: &Map<String, Value>,
    definitions: &[Definition],
    patch: &mut Patch,
    errors: &mut Vec<FieldError>,
) {
    for (name, value) in object {
        let field = format!("custom.{name}");
        let Some(definition) = definitions.iter().find(|d| &d.name == name) else {
            errors.push(FieldError::new(
                field,
                "undeclared_attribute",
                "The brand has not declared this custom attribute (POST …/crm/attributes).",
            ));
            continue;
        };
        if value.is_null() {
            patch.custom.push((name.clone(), None));
            continue;
        }
        match definition.check_value(&field, value) {
            Ok(value) => patch.custom.push((name.clone(), Some(value))),
            Err(error) => errors.push(error),
        }
    }
}

/// Why a patch was not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// The id was absorbed by a merge: the survivor's id.
    Merged(Uuid),
    /// The person was erased: nothing personal is written to the profile again.
    Erased,
}

fn text(value: &Option<Value>) -> Option<String> {
    value.as_ref().and_then(Value::as_str).map(str::to_owned)
}

/// Applies the patch to the live profile (locked for the update) and returns the names that changed, in a
/// stable order: built-ins first, then custom names.
pub async fn apply(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    patch: &Patch,
    at: DateTime<Utc>,
) -> Result<Result<Vec<String>, Refused>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "SELECT merged_into, erased_at, first_name, last_name, email, phone, birthday, locale, country, city, tier,
                tags, custom, attribute_times
         FROM crm_profiles WHERE brand_id = $1 AND id = $2 FOR NO KEY UPDATE",
        brand_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Err(Refused::NotFound));
    };
    if row.erased_at.is_some() {
        return Ok(Err(Refused::Erased));
    }
    if row.merged_into.is_some() {
        let survivor = super::profile::current_id(conn, brand_id, id).await?;
        return Ok(Err(survivor.map_or(Refused::NotFound, Refused::Merged)));
    }
    let mut current: Map<String, Value> = Map::new();
    for (name, value) in [
        ("first_name", json!(row.first_name)),
        ("last_name", json!(row.last_name)),
        ("email", json!(row.email)),
        ("phone", json!(row.phone)),
        ("birthday", json!(row.birthday)),
        ("locale", json!(row.locale)),
        ("country", json!(row.country)),
        ("city", json!(row.city)),
        ("tier", json!(row.tier)),
        ("tags", json!(row.tags)),
    ] {
        current.insert(name.to_owned(), value);
    }
    let mut custom = row.custom.as_object().cloned().unwrap_or_default();
    let mut times = row.attribute_times.as_object().cloned().unwrap_or_default();
    let mut changed = Vec::new();
    let stamp = json!(at.to_rfc3339());
    for (name, value) in &patch.attributes {
        let empty = if *name == "tags" {
            json!([])
        } else {
            Value::Null
        };
        let new = value.clone().unwrap_or(empty);
        if current.get(*name) != Some(&new) {
            changed.push((*name).to_owned());
            current.insert((*name).to_owned(), new);
            if value.is_some() {
                times.insert((*name).to_owned(), stamp.clone());
            } else {
                times.remove(*name);
            }
        }
    }
    for (name, value) in &patch.custom {
        if custom.get(name) != value.as_ref() {
            changed.push(name.clone());
            match value {
                Some(value) => {
                    custom.insert(name.clone(), value.clone());
                    times.insert(name.clone(), stamp.clone());
                }
                None => {
                    custom.remove(name);
                    times.remove(name);
                }
            }
        }
    }
    if changed.is_empty() {
        return Ok(Ok(changed));
    }
    let field = |name: &str| current.get(name).cloned();
    let birthday = field("birthday")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok());
    let tags: Vec<String> = field("tags")
        .as_ref()
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    sqlx::query!(
        "UPDATE crm_profiles SET first_name = $3, last_name = $4, email = $5, phone = $6, birthday = $7,
             locale = $8, country = $9, city = $10, tier = $11, tags = $12, custom = $13,
             attribute_times = $14, updated_at = now()
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        text(&field("first_name")),
        text(&field("last_name")),
        text(&field("email")),
        text(&field("phone")),
        birthday,
        text(&field("locale")),
        text(&field("country")),
        text(&field("city")),
        text(&field("tier")),
        &tags,
        Value::Object(custom),
        Value::Object(times),
    )
    .execute(&mut *conn)
    .await?;
    Ok(Ok(changed))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crm::custom::AttributeType;

    fn definitions() -> Vec<Definition> {
        vec![Definition {
            name: "vip_since".into(),
            kind: AttributeType::Date,
            enum_values: None,
            description: None,
            created_at: Utc::now(),
        }]
    }

    fn fields(body: Value) -> Vec<(String, String)> {
        check(&body, &definitions())
            .unwrap_err()
            .into_iter()
            .map(|error| (error.field, error.code))
            .collect()
    }

    #[test]
    fn every_bad_member_is_named() {
        let errors = fields(json!({
            "attributes": { "email": "not-an-email", "nickname": "x", "birthday": 12, "tags": "a" },
            "custom": { "vip_since": true, "shoe_size": 42 },
            "id": "x",
        }));
        for expected in [
            ("attributes.email", "invalid_email"),
            ("attributes.nickname", "unknown_attribute"),
            ("attributes.birthday", "invalid_type"),
            ("attributes.tags", "invalid_type"),
            ("custom.vip_since", "invalid_type"),
            ("custom.shoe_size", "undeclared_attribute"),
            ("id", "unknown_field"),
        ] {
            assert!(
                errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{expected:?} in {errors:?}"
            );
        }
        assert_eq!(fields(json!([1]))[0].1, "invalid_type");
        assert_eq!(fields(json!({ "custom": null }))[0].0, "custom");
    }

    #[test]
    fn values_are_normalised_and_null_or_blank_removes() {
        let patch = check(
            &json!({ "attributes": { "email": " Jane@Example.COM ", "country": "fr", "city": "",
                                      "tier": null, "tags": ["b", " a", "b"] },
                     "custom": { "vip_since": "2024-01-02" } }),
            &definitions(),
        )
        .unwrap();
        let get = |name: &str| {
            patch
                .attributes
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("email"), Some(json!("jane@example.com")));
        assert_eq!(get("country"), Some(json!("FR")));
        assert_eq!(get("city"), None);
        assert_eq!(get("tier"), None);
        assert_eq!(get("tags"), Some(json!(["a", "b"])));
        assert_eq!(
            patch.custom,
            vec![("vip_since".to_owned(), Some(json!("2024-01-02")))]
        );
    }
}
