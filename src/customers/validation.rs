//! Validation of `PATCH /me`: every problem in the body becomes a field error, so the customer sees them all
//! at once, and nothing is sent anywhere unless the whole body is valid. Also the rules themselves (E.164
//! phones, ISO 3166 countries, postcodes per country) as `validator` custom functions.

use serde_json::{Map, Value};
use validator::{Validate, ValidationError};

use super::domain::{Address, ProfileChange};
use super::routes::{AddressInput, UpdateProfileRequest};
use crate::errors::{FieldError, field_errors, required_text, rule};
use crate::types::{is_country, is_e164};

const NAME_MAX: usize = 100;
const LINE_MAX: usize = 100;
const POSTCODE_MAX: usize = 20;

/// The postcode in its canonical form for `country`, or `None` when it is not a valid postcode there.
/// Japan `123-4567` (the hyphen is optional on input), France and Germany five digits, the United States
/// `12345` or `12345-6789`, Canada `A1A 1A1`, the United Kingdom its outward and inward codes; elsewhere 3
/// to 10 letters and digits, with single inner spaces or hyphens.
pub fn normalize_postcode(country: &str, postcode: &str) -> Option<String> {
    let postcode = postcode.trim();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match country {
        "JP" => {
            let (head, tail) = match postcode.split_once('-') {
                Some(parts) => parts,
                // Checked split: seven bytes of multi-byte text have no boundary at 3.
                None if postcode.len() == 7 => postcode.split_at_checked(3)?,
                None => return None,
            };
            (digits(head, 3) && digits(tail, 4)).then(|| format!("{head}-{tail}"))
        }
        "FR" | "DE" => digits(postcode, 5).then(|| postcode.to_owned()),
        "US" => match postcode.split_once('-') {
            Some((zip, plus4)) => (digits(zip, 5) && digits(plus4, 4)).then(|| postcode.to_owned()),
            None => digits(postcode, 5).then(|| postcode.to_owned()),
        },
        "CA" => {
            let compact: String = postcode.chars().filter(|c| *c != ' ').collect();
            let compact = compact.to_ascii_uppercase();
            let b = compact.as_bytes();
            let shape = b.len() == 6
                && b.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_digit()
                    }
                });
            shape.then(|| format!("{} {}", &compact[..3], &compact[3..]))
        }
        "GB" => {
            let compact: String = postcode.chars().filter(|c| *c != ' ').collect();
            let compact = compact.to_ascii_uppercase();
            let valid = (5..=7).contains(&compact.len())
                && compact.bytes().all(|b| b.is_ascii_alphanumeric())
                && compact
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_alphabetic)
                && {
                    let (outward, inward) = compact.split_at(compact.len() - 3);
                    let i = inward.as_bytes();
                    outward.len() >= 2
                        && i[0].is_ascii_digit()
                        && i[1].is_ascii_alphabetic()
                        && i[2].is_ascii_alphabetic()
                };
            valid.then(|| {
                format!(
                    "{} {}",
                    &compact[..compact.len() - 3],
                    &compact[compact.len() - 3..]
                )
            })
        }
        _ => {
            let alnum = postcode.chars().filter(char::is_ascii_alphanumeric).count();
            let mut previous_separator = true;
            let shape = postcode.chars().all(|c| {
                let separator = c == ' ' || c == '-';
                let ok = c.is_ascii_alphanumeric() || (separator && !previous_separator);
                previous_separator = separator;
                ok
            }) && !previous_separator;
            (shape && (3..=10).contains(&alnum)).then(|| postcode.to_ascii_uppercase())
        }
    }
}

/// Checks the whole body and returns the change, or every field error found: first its shape (an object,
/// known fields, strings where strings belong), which `serde` could only report one at a time, then the
/// rules derived on [`UpdateProfileRequest`], then the postcode against the country (a rule crossing
/// fields). A field with a wrong type is not checked further.
pub fn profile_change(body: &Value) -> Result<ProfileChange, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "invalid_type",
            "Send a JSON object with the fields to change.",
        )]);
    };
    let mut errors = Vec::new();
    let request = shape(&mut errors, object);
    let mistyped: Vec<String> = errors.iter().map(|error| error.field.clone()).collect();
    errors.extend(
        field_errors([request.validate()])
            .into_iter()
            .filter(|error| !mistyped.contains(&error.field)),
    );
    let country = request
        .address
        .as_ref()
        .map(|address| address.country.trim().to_ascii_uppercase());
    let postcode = match (&request.address, &country) {
        (Some(address), Some(country))
            if clean(&errors, &["address/country", "address/postcode"]) =>
        {
            let postcode = normalize_postcode(country, &address.postcode);
            if postcode.is_none() {
                errors.push(FieldError::new(
                    "address/postcode",
                    "invalid_postcode",
                    format!("This is not a valid postcode for {country}."),
                ));
            }
            postcode
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let trimmed = |value: &str| value.trim().to_owned();
    let present = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let change = ProfileChange {
        first_name: request.first_name.as_deref().map(trimmed),
        last_name: request.last_name.as_deref().map(trimmed),
        phone: request.phone.as_deref().map(trimmed),
        address: match (request.address, country, postcode) {
            (Some(address), Some(country), Some(postcode)) => Some(Address {
                line1: trimmed(&address.line1),
                line2: present(&address.line2),
                city: trimmed(&address.city),
                state: present(&address.state),
                postcode,
                country,
            }),
            _ => None,
        },
    };
    if change.is_empty() {
        return Err(vec![FieldError::new(
            "",
            "empty",
            "Send at least one of first_name, last_name, phone and address.",
        )]);
    }
    Ok(change)
}

/// No error so far on any of `fields`.
fn clean(errors: &[FieldError], fields: &[&str]) -> bool {
    !errors
        .iter()
        .any(|error| fields.contains(&error.field.as_str()))
}

/// The body as the typed request, recording unknown fields and wrong types. A required field that is
/// absent or `null` becomes empty text, which the derived rules report as `required`.
fn shape(errors: &mut Vec<FieldError>, object: &Map<String, Value>) -> UpdateProfileRequest {
    unknown_fields(
        errors,
        "",
        object,
        &["first_name", "last_name", "phone", "address"],
    );
    let name = |errors: &mut Vec<FieldError>, field: &str| {
        object
            .get(field)
            .map(|value| string(errors, field, Some(value)).unwrap_or_default())
    };
    let first_name = name(errors, "first_name");
    let last_name = name(errors, "last_name");
    let phone = match object.get("phone") {
        None => None,
        Some(Value::String(phone)) => Some(phone.clone()),
        Some(_) => {
            errors.push(not_a_string("phone"));
            Some(String::new())
        }
    };
    let address = match object.get("address") {
        None => None,
        Some(Value::Object(address)) => Some(address_shape(errors, address)),
        Some(_) => {
            errors.push(FieldError::new(
                "address",
                "invalid_type",
                "The address must be an object with line1, line2, city, state, postcode and country.",
            ));
            None
        }
    };
    UpdateProfileRequest {
        first_name,
        last_name,
        phone,
        address,
    }
}

fn address_shape(errors: &mut Vec<FieldError>, object: &Map<String, Value>) -> AddressInput {
    unknown_fields(
        errors,
        "address/",
        object,
        &["line1", "line2", "city", "state", "postcode", "country"],
    );
    let mut field = |name: &str| string(errors, &format!("address/{name}"), object.get(name));
    AddressInput {
        line1: field("line1").unwrap_or_default(),
        line2: field("line2"),
        city: field("city").unwrap_or_default(),
        state: field("state"),
        postcode: field("postcode").unwrap_or_default(),
        country: field("country").unwrap_or_default(),
    }
}

/// A string, or `None` for an absent or `null` field; anything else is an `invalid_type` error.
fn string(errors: &mut Vec<FieldError>, field: &str, value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(value)) => Some(value.clone()),
        Some(_) => {
            errors.push(not_a_string(field));
            None
        }
    }
}

fn unknown_fields(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    object: &Map<String, Value>,
    known: &[&str],
) {
    for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
        errors.push(FieldError::new(
            format!("{prefix}{key}"),
            "unknown_field",
            "This field cannot be changed here.",
        ));
    }
}

fn not_a_string(field: &str) -> FieldError {
    FieldError::new(field, "invalid_type", "This field must be a string.")
}

/// Text of 1 to `max` characters once trimmed, without line breaks or control characters.
fn text(value: &str, max: usize) -> Result<(), ValidationError> {
    required_text(value, max)?;
    if value.trim().chars().any(char::is_control) {
        return Err(rule(
            "invalid_characters",
            "Remove line breaks and control characters.",
        ));
    }
    Ok(())
}

/// The `validator` rules of the profile's fields.
pub fn name(value: &str) -> Result<(), ValidationError> {
    text(value, NAME_MAX)
}

pub fn line(value: &str) -> Result<(), ValidationError> {
    text(value, LINE_MAX)
}

/// Blank is the same as absent.
pub fn optional_line(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Ok(())
    } else {
        text(value, LINE_MAX)
    }
}

/// The postcode's text; its format is checked against the country once both are valid.
pub fn postcode_text(value: &str) -> Result<(), ValidationError> {
    text(value, POSTCODE_MAX)
}

/// An ISO 3166-1 alpha-2 code, in either case.
pub fn country(value: &str) -> Result<(), ValidationError> {
    text(value, LINE_MAX)?;
    if is_country(&value.trim().to_ascii_uppercase()) {
        Ok(())
    } else {
        Err(rule(
            "invalid_country",
            "Use an ISO 3166-1 alpha-2 country code, e.g. JP.",
        ))
    }
}

pub fn phone(value: &str) -> Result<(), ValidationError> {
    if is_e164(value.trim()) {
        Ok(())
    } else {
        Err(rule(
            "invalid_phone",
            "Enter the phone number in international format: + then 8 to 15 digits, e.g. +819012345678.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::COUNTRIES;

    fn codes(body: Value) -> Vec<(String, String)> {
        match profile_change(&body) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn the_country_list_is_sorted_for_binary_search() {
        assert!(COUNTRIES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(is_country("JP") && is_country("FR") && !is_country("XX") && !is_country("jp"));
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(is_e164("+819012345678"));
        assert!(is_e164("+12025550123"));
        assert!(!is_e164("09012345678"));
        assert!(!is_e164("+81 90 1234 5678"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+0123456789"));
    }

    #[test]
    fn postcodes_follow_the_country_format() {
        assert_eq!(
            normalize_postcode("JP", "1500001").as_deref(),
            Some("150-0001")
        );
        assert_eq!(
            normalize_postcode("JP", "150-0001").as_deref(),
            Some("150-0001")
        );
        assert_eq!(normalize_postcode("JP", "15-00001"), None);
        assert_eq!(normalize_postcode("FR", "75001").as_deref(), Some("75001"));
        assert_eq!(normalize_postcode("FR", "7500"), None);
        assert_eq!(
            normalize_postcode("US", "94105-1234").as_deref(),
            Some("94105-1234")
        );
        assert_eq!(normalize_postcode("US", "9410"), None);
        assert_eq!(
            normalize_postcode("CA", "k1a0b1").as_deref(),
            Some("K1A 0B1")
        );
        assert_eq!(
            normalize_postcode("GB", "sw1a 1aa").as_deref(),
            Some("SW1A 1AA")
        );
        assert_eq!(
            normalize_postcode("NL", "1012 AB").as_deref(),
            Some("1012 AB")
        );
        assert_eq!(normalize_postcode("NL", "12"), None);
        assert_eq!(normalize_postcode("NL", "12--34"), None);
    }

    #[test]
    fn multi_byte_postcodes_are_refused_without_panicking() {
        for country in ["JP", "FR", "DE", "US", "CA", "GB", "NL", "ZZ"] {
            for postcode in [
                "ééé1",
                "１５０-０００１",
                "日本1",
                "150-０００1",
                "ＳＷ１Ａ １ＡＡ",
                "K1Aé0B1",
                "é",
                "",
                "\u{0}\u{0}\u{0}",
                "1\u{301}50001",
            ] {
                assert_eq!(
                    normalize_postcode(country, postcode),
                    None,
                    "{country} {postcode:?}"
                );
            }
        }
        let errors = codes(json!({
            "address": { "line1": "1", "city": "Tokyo", "postcode": "ééé1", "country": "JP" }
        }));
        assert_eq!(
            errors,
            vec![("address/postcode".into(), "invalid_postcode".into())]
        );
    }

    #[test]
    fn a_wrong_type_is_reported_once() {
        let errors = codes(json!({
            "first_name": 3, "phone": null,
            "address": { "line1": ["1"], "city": "Tokyo", "postcode": "1500001", "country": "JP" }
        }));
        assert_eq!(
            errors,
            vec![
                ("first_name".into(), "invalid_type".into()),
                ("phone".into(), "invalid_type".into()),
                ("address/line1".into(), "invalid_type".into()),
            ]
        );
        assert_eq!(
            codes(json!({ "address": null })),
            vec![("address".into(), "invalid_type".into())]
        );
    }

    #[test]
    fn text_rules_count_characters_and_refuse_control_characters() {
        assert_eq!(
            codes(json!({ "first_name": "花子".repeat(50) })),
            Vec::new()
        );
        assert_eq!(
            codes(json!({ "first_name": "花".repeat(101) })),
            vec![("first_name".into(), "too_long".into())]
        );
        assert_eq!(
            codes(json!({ "last_name": "Yama\nda" })),
            vec![("last_name".into(), "invalid_characters".into())]
        );
        assert_eq!(
            codes(json!({ "first_name": null })),
            vec![("first_name".into(), "required".into())]
        );
        assert_eq!(
            codes(json!({ "phone": "＋８１９０１２３４５６７８" })),
            vec![("phone".into(), "invalid_phone".into())]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = codes(json!({
            "first_name": "", "phone": "0901234", "nickname": "x",
            "address": { "line1": "1", "city": "Paris", "postcode": "7500", "country": "FR", "floor": 2 }
        }));
        assert!(errors.contains(&("first_name".into(), "required".into())));
        assert!(errors.contains(&("phone".into(), "invalid_phone".into())));
        assert!(errors.contains(&("nickname".into(), "unknown_field".into())));
        assert!(errors.contains(&("address/floor".into(), "unknown_field".into())));
        assert!(errors.contains(&("address/postcode".into(), "invalid_postcode".into())));
    }

    #[test]
    fn a_long_country_name_is_an_invalid_country() {
        let errors = codes(json!({
            "address": { "line1": "1", "city": "Tokyo", "postcode": "1500001", "country": "Japan" }
        }));
        assert_eq!(
            errors,
            vec![("address/country".into(), "invalid_country".into())]
        );
    }

    #[test]
    fn an_empty_body_changes_nothing_and_says_so() {
        assert_eq!(codes(json!({})), vec![("".into(), "empty".into())]);
        assert_eq!(codes(json!([])), vec![("".into(), "invalid_type".into())]);
    }

    #[test]
    fn a_valid_body_is_normalised() {
        let change = profile_change(&json!({
            "first_name": " Hanako ", "phone": "+819011112222",
            "address": { "line1": "1-1", "line2": null, "city": "Tokyo", "postcode": "1000001", "country": "jp" }
        }))
        .unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(change.first_name.as_deref(), Some("Hanako"));
        let address = change.address.unwrap_or_else(|| panic!("address"));
        assert_eq!(address.postcode, "100-0001");
        assert_eq!(address.country, "JP");
        assert_eq!(address.line2, None);
    }
}
