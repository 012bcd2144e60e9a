//! What an event must look like: the envelope every event shares and the properties of each known type.
//! Every rule is checked here, before anything is written, and every failure becomes a field error named
//! by its JSON pointer in the batch (`/3/properties/amount`), so a sender can fix exactly what is wrong.

use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::crm::identifiers::{Identifier, IdentifierInput};
use crate::crm::profile::Attributes;
use crate::errors::FieldError;
use crate::types::Currency;

/// The most events one batch carries.
pub const MAX_BATCH: usize = 1000;
/// The most identifiers one event carries.
pub const MAX_IDENTIFIERS: usize = 20;
/// The largest `properties` object, serialized.
pub const MAX_PROPERTIES_BYTES: usize = 8 * 1024;
/// How far ahead of the server's clock `occurred_at` may be (clock skew, time zones done wrong).
pub const MAX_FUTURE: Duration = Duration::days(1);

/// An event that passed every rule: normalised identifiers, checked traits and properties.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    pub id: String,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub identifiers: Vec<Identifier>,
    pub traits: Attributes,
    pub properties: Value,
    /// The purchase's amount and currency, for the lifetime value.
    pub purchase: Option<(String, String)>,
}

/// Whether a name or a string anywhere in `value` holds U+0000 (which `jsonb` refuses).
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(members) => members
            .iter()
            .any(|(name, value)| name.contains('\0') || has_nul(value)),
        _ => false,
    }
}

/// Checks event number `index` of a batch; `now` bounds `occurred_at`.
pub fn check(index: usize, raw: &Value, now: DateTime<Utc>) -> Result<ValidEvent, Vec<FieldError>> {
    let at = |field: &str| format!("/{index}/{field}");
    let mut errors = Vec::new();
    let Some(object) = raw.as_object() else {
        return Err(vec![FieldError::new(
            format!("/{index}"),
            "invalid_type",
            "Each event is a JSON object.",
        )]);
    };
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "id" | "type" | "occurred_at" | "identifiers" | "traits" | "properties"
        ) {
            errors.push(FieldError::new(
                at(key),
                "unknown_field",
                "Not a field of an event.",
            ));
        }
    }
    let id = match object.get("id").and_then(Value::as_str) {
        Some(id)
            if (1..=128).contains(&id.chars().count()) && !id.chars().any(char::is_control) =>
        {
            Some(id.to_owned())
        }
        _ => {
            errors.push(FieldError::new(
                at("id"),
                "invalid_event_id",
                "Your id for the event: 1–128 characters without control characters.",
            ));
            None
        }
    };
    let kind = match object.get("type").and_then(Value::as_str) {
        Some(kind) if is_type(kind) => Some(kind.to_owned()),
        _ => {
            errors.push(FieldError::new(
                at("type"),
                "invalid_type",
                "A known type or a custom one: a lower-case letter, then 1–63 lower-case letters, digits or underscores.",
            ));
            None
        }
    };
    let occurred_at = match object
        .get("occurred_at")
        .and_then(Value::as_str)
        .map(DateTime::parse_from_rfc3339)
    {
        Some(Ok(at_time)) => {
            let at_time = at_time.with_timezone(&Utc);
            if at_time < earliest() || at_time > now + MAX_FUTURE {
                errors.push(FieldError::new(
                    at("occurred_at"),
                    "out_of_range",
                    "Between 2000-01-01T00:00:00Z and one day after now.",
                ));
                None
            } else {
                Some(at_time)
            }
        }
        _ => {
            errors.push(FieldError::new(
                at("occurred_at"),
                "invalid_date_time",
                "An RFC 3339 date and time, e.g. 2026-12-01T10:00:00Z.",
            ));
            None
        }
    };
    let identifiers = identifiers(index, object.get("identifiers"), &mut errors);
    let traits = match object.get("traits") {
        None | Some(Value::Null) => Some(Attributes::default()),
        Some(value) => match serde_json::from_value::<Attributes>(value.clone()) {
            Ok(traits) => {
                let found = traits.check(&format!("/{index}/traits/"));
                let ok = found.is_empty();
                errors.extend(found);
                ok.then_some(traits)
            }
            Err(error) => {
                errors.push(FieldError::new(
                    at("traits"),
                    "invalid_traits",
                    format!("Built-in attributes only: {error}"),
                ));
                None
            }
        },
    };
    let properties = match object.get("properties") {
        None | Some(Value::Null) => Some(Value::Object(Map::new())),
        Some(value @ Value::Object(_)) => {
            if serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
                > MAX_PROPERTIES_BYTES
            {
                errors.push(FieldError::new(
                    at("properties"),
                    "too_large",
                    format!("At most {MAX_PROPERTIES_BYTES} bytes of JSON."),
                ));
                None
            } else {
                Some(value.clone())
            }
        }
        Some(_) => {
            errors.push(FieldError::new(
                at("properties"),
                "invalid_type",
                "A JSON object.",
            ));
            None
        }
    };
    let mut purchase = None;
    if let (Some(kind), Some(Value::Object(properties))) = (&kind, &properties)
        && let Some(spec) = KnownType::find(kind)
    {
        spec.check(&format!("/{index}/properties/"), properties, &mut errors);
        if spec.name == "purchase" {
            purchase = properties
                .get("amount")
                .and_then(decimal)
                .zip(
                    properties
                        .get("currency")
                        .and_then(Value::as_str)
                        .and_then(Currency::parse),
                )
                .map(|(amount, currency)| (amount, currency.as_str().to_owned()));
        }
    }
    // `jsonb` cannot hold U+0000: the insert would fail, and the event with it, every time. A known type's
    // own checks name the field; anything else is reported here.
    let prefix = at("properties");
    if properties.as_ref().is_some_and(has_nul)
        && !errors.iter().any(|error| error.field.starts_with(&prefix))
    {
        errors.push(FieldError::new(
            prefix,
            "invalid_character",
            "No `\\u0000` in names or strings.",
        ));
    }
    match (id, kind, occurred_at, identifiers, traits, properties) {
        (
            Some(id),
            Some(kind),
            Some(occurred_at),
            Some(identifiers),
            Some(traits),
            Some(properties),
        ) if errors.is_empty() => Ok(ValidEvent {
            id,
            kind,
            occurred_at,
            identifiers,
            traits,
            properties,
            purchase,
        }),
        _ => Err(errors),
    }
}

fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `[a-z][a-z0-9_]{1,63}`.
pub fn is_type(kind: &str) -> bool {
    let bytes = kind.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

fn identifiers(
    index: usize,
    raw: Option<&Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<Identifier>> {
    let field = format!("/{index}/identifiers");
    let Some(Value::Array(list)) = raw else {
        errors.push(FieldError::new(
            field,
            "required",
            "A list of 1–20 identifiers {kind, value}.",
        ));
        return None;
    };
    if list.is_empty() || list.len() > MAX_IDENTIFIERS {
        errors.push(FieldError::new(
            field,
            "out_of_range",
            "A list of 1–20 identifiers {kind, value}.",
        ));
        return None;
    }
    let mut parsed = Vec::with_capacity(list.len());
    let mut ok = true;
    for (position, item) in list.iter().enumerate() {
        let input = match serde_json::from_value::<IdentifierInput>(item.clone()) {
            Ok(input) => input,
            Err(_) => {
                errors.push(FieldError::new(
                    format!("{field}/{position}"),
                    "invalid_identifier",
                    "An identifier is {\"kind\": …, \"value\": …}, both strings.",
                ));
                ok = false;
                continue;
            }
        };
        match Identifier::parse(&input.kind, &input.value) {
            Ok(identifier) => {
                if !parsed.contains(&identifier) {
                    parsed.push(identifier);
                }
            }
            Err(error) => {
                let part = match error {
                    crate::crm::identifiers::IdentifierError::UnknownKind => "kind",
                    crate::crm::identifiers::IdentifierError::InvalidValue(_) => "value",
                };
                errors.push(FieldError::new(
                    format!("{field}/{position}/{part}"),
                    error.code(),
                    error.to_string(),
                ));
                ok = false;
            }
        }
    }
    ok.then_some(parsed)
}

/// How one property is checked.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A reference in another system: 1–128 characters without control characters.
    Reference,
    /// Free text of at most this many characters.
    Text(usize),
    /// A decimal ≥ 0, as a string (`"12.50"`) or a number, at most 14 integer and 4 fraction digits.
    Amount,
    Currency,
    /// An absolute http(s) URL of at most 2,048 characters.
    Url,
    DateTime,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A list of `{sku, quantity, price}`, at most 500.
    Items,
    /// A list of positive whole numbers, at most 100.
    Ids,
    /// A positive whole number, or its digits.
    Number,
    /// A list of at most 50 references (SKUs).
    References,
}

struct Property {
    name: &'static str,
    rule: Rule,
    required: bool,
}

const fn req(name: &'static str, rule: Rule) -> Property {
    Property {
        name,
        rule,
        required: true,
    }
}

const fn opt(name: &'static str, rule: Rule) -> Property {
    Property {
        name,
        rule,
        required: false,
    }
}

/// A known event type: its properties, each checked by its rule; other properties are refused.
pub struct KnownType {
    pub name: &'static str,
    properties: &'static [Property],
}

const INTERACTION: &[Property] = &[
    req("interaction_id", Rule::Reference),
    req("version", Rule::Number),
    req(
        "channel",
        Rule::OneOf(&crate::clienteling::interactions::processors::CHANNELS),
    ),
    req("context", Rule::Reference),
    req("advisor_id", Rule::Reference),
    opt("store", Rule::Reference),
    opt("skus", Rule::References),
];

/// The known types (their schemas are documented in `super::docs`).
const KNOWN: &[KnownType] = &[
    KnownType {
        name: "purchase",
        properties: &[
            req("order_id", Rule::Reference),
            req("amount", Rule::Amount),
            req("currency", Rule::Currency),
            opt("store", Rule::Reference),
            opt("items", Rule::Items),
        ],
    },
    KnownType {
        name: "booking",
        properties: &[
            req("booking_id", Rule::Reference),
            req("starts_at", Rule::DateTime),
            opt("store", Rule::Reference),
            opt("service", Rule::Text(200)),
            opt(
                "status",
                Rule::OneOf(&["booked", "cancelled", "completed", "no_show"]),
            ),
        ],
    },
    // Brand events (`brand_events`, docs/brand_events.md): the invitation, each RSVP (a promotion from the
    // waitlist is one too) and the check-in, so a segment counts "attended an event in the last year".
    KnownType {
        name: "event_invited",
        properties: &[
            req("event_id", Rule::Reference),
            opt("invitation_id", Rule::Reference),
            opt("name", Rule::Text(200)),
            opt("store", Rule::Reference),
            opt("source", Rule::OneOf(&["segment", "advisor"])),
            opt("segment_id", Rule::Reference),
        ],
    },
    KnownType {
        name: "event_rsvp",
        properties: &[
            req("event_id", Rule::Reference),
            req(
                "response",
                Rule::OneOf(&["accepted", "declined", "promoted"]),
            ),
            req(
                "status",
                Rule::OneOf(&["confirmed", "waitlisted", "declined"]),
            ),
            opt("invitation_id", Rule::Reference),
            opt("name", Rule::Text(200)),
            opt("store", Rule::Reference),
            opt("via", Rule::OneOf(&["link", "staff", "waitlist"])),
        ],
    },
    KnownType {
        name: "event_attended",
        properties: &[
            req("event_id", Rule::Reference),
            opt("invitation_id", Rule::Reference),
            opt("name", Rule::Text(200)),
            opt("store", Rule::Reference),
        ],
    },
    KnownType {
        name: "email_opened",
        properties: &[
            req("campaign_id", Rule::Reference),
            opt("message_id", Rule::Reference),
        ],
    },
    KnownType {
        name: "email_clicked",
        properties: &[
            req("campaign_id", Rule::Reference),
            req("url", Rule::Url),
            opt("message_id", Rule::Reference),
        ],
    },
    KnownType {
        name: "page_view",
        properties: &[
            req("url", Rule::Url),
            opt("title", Rule::Text(300)),
            opt("referrer", Rule::Url),
        ],
    },
    KnownType {
        name: "support_case_opened",
        properties: &[
            req("case_id", Rule::Reference),
            opt("subject", Rule::Text(255)),
            opt(
                "channel",
                Rule::OneOf(&["email", "phone", "chat", "web", "store"]),
            ),
        ],
    },
    KnownType {
        name: "order_provisioned",
        properties: &[
            req("order_id", Rule::Reference),
            opt("service_ids", Rule::Ids),
        ],
    },
    // Clienteling interactions (`clienteling::interactions::activity`): one activity per event of the
    // interaction's stream, so a segment counts `interaction` with its channel and context.
    KnownType {
        name: "interaction",
        properties: INTERACTION,
    },
    KnownType {
        name: "interaction_updated",
        properties: INTERACTION,
    },
    KnownType {
        name: "interaction_deleted",
        properties: INTERACTION,
    },
    KnownType {
        name: "invoice_paid",
        properties: &[
            req("invoice_id", Rule::Number),
            opt("amount", Rule::Amount),
            opt("currency", Rule::Currency),
        ],
    },
    // The send path's outcomes and the messaging service's receipts (crm::messages, docs/crm/messages.md).
    KnownType {
        name: "message_sent",
        properties: MESSAGE_SENT,
    },
    KnownType {
        name: "message_suppressed",
        properties: &[
            req("message_id", Rule::Reference),
            req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
            req("purpose", Rule::OneOf(MESSAGE_PURPOSES)),
            req(
                "reason",
                Rule::OneOf(&[
                    "no_address",
                    "no_consent",
                    "consent_denied",
                    "frequency_cap",
                ]),
            ),
            opt("template_id", Rule::Reference),
        ],
    },
    KnownType {
        name: "message_failed",
        properties: &[
            req("message_id", Rule::Reference),
            req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
            req("purpose", Rule::OneOf(MESSAGE_PURPOSES)),
            req("reason", Rule::Text(300)),
            opt("template_id", Rule::Reference),
        ],
    },
    // A journey's update_attribute and add_tag steps (crm::journeys): the change rides in the traits.
    KnownType {
        name: "journey_action",
        properties: &[
            req("journey_id", Rule::Reference),
            req("enrollment_id", Rule::Reference),
            req("step_id", Rule::Reference),
            req("action", Rule::OneOf(&["update_attribute", "add_tag"])),
        ],
    },
    KnownType {
        name: "message_delivered",
        properties: MESSAGE_RECEIPT,
    },
    KnownType {
        name: "message_bounced",
        properties: &[
            req("message_id", Rule::Reference),
            req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
            opt("template_id", Rule::Reference),
            opt("reason", Rule::Text(300)),
        ],
    },
    KnownType {
        name: "message_opened",
        properties: MESSAGE_RECEIPT,
    },
    KnownType {
        name: "message_clicked",
        properties: &[
            req("message_id", Rule::Reference),
            req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
            opt("template_id", Rule::Reference),
            opt("url", Rule::Url),
        ],
    },
];

const MESSAGE_CHANNELS: &[&str] = &["email", "sms", "whatsapp", "line", "push"];
const MESSAGE_PURPOSES: &[&str] = &["marketing", "outreach", "events", "service"];
const MESSAGE_SENT: &[Property] = &[
    req("message_id", Rule::Reference),
    req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
    req("purpose", Rule::OneOf(MESSAGE_PURPOSES)),
    opt("template_id", Rule::Reference),
    opt("template_version", Rule::Number),
    opt("language", Rule::Reference),
];
const MESSAGE_RECEIPT: &[Property] = &[
    req("message_id", Rule::Reference),
    req("channel", Rule::OneOf(MESSAGE_CHANNELS)),
    opt("template_id", Rule::Reference),
];

impl KnownType {
    pub fn find(name: &str) -> Option<&'static KnownType> {
        KNOWN.iter().find(|known| known.name == name)
    }

    fn check(&self, prefix: &str, properties: &Map<String, Value>, errors: &mut Vec<FieldError>) {
        for key in properties.keys() {
            if !self.properties.iter().any(|property| property.name == key) {
                errors.push(FieldError::new(
                    format!("{prefix}{key}"),
                    "unknown_field",
                    format!(
                        "Not a property of `{}` (send a custom type for other data).",
                        self.name
                    ),
                ));
            }
        }
        for property in self.properties {
            let field = format!("{prefix}{}", property.name);
            match properties.get(property.name) {
                None | Some(Value::Null) if property.required => {
                    errors.push(FieldError::new(field, "required", "Required."));
                }
                None | Some(Value::Null) => {}
                Some(value) => check_rule(&field, property.rule, value, errors),
            }
        }
    }
}

fn reference(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        (1..=128).contains(&text.chars().count()) && !text.chars().any(char::is_control)
    })
}

fn check_rule(field: &str, rule: Rule, value: &Value, errors: &mut Vec<FieldError>) {
    let mut fail = |code: &str, message: &str| errors.push(FieldError::new(field, code, message));
    match rule {
        Rule::Reference => {
            if !reference(value) {
                fail(
                    "invalid_reference",
                    "1–128 characters without control characters.",
                );
            }
        }
        Rule::Text(max) => {
            let ok = value.as_str().is_some_and(|text| {
                text.chars().count() <= max && !text.chars().any(char::is_control)
            });
            if !ok {
                fail(
                    "invalid_text",
                    &format!("Text of at most {max} characters, without control characters."),
                );
            }
        }
        Rule::Amount => {
            if decimal(value).is_none() {
                fail(
                    "invalid_amount",
                    "A decimal ≥ 0 (a string such as \"12.50\" or a number), at most 14 digits before the point and 4 after.",
                );
            }
        }
        Rule::Currency => {
            if value.as_str().and_then(Currency::parse).is_none() {
                fail(
                    "invalid_currency",
                    "Use an ISO 4217 currency code, e.g. EUR.",
                );
            }
        }
        Rule::Url => {
            if !value.as_str().is_some_and(is_url) {
                fail(
                    "invalid_url",
                    "An absolute http or https URL of at most 2,048 characters.",
                );
            }
        }
        Rule::DateTime => {
            if value
                .as_str()
                .map(DateTime::parse_from_rfc3339)
                .and_then(Result::ok)
                .is_none()
            {
                fail(
                    "invalid_date_time",
                    "An RFC 3339 date and time, e.g. 2026-12-01T10:00:00Z.",
                );
            }
        }
        Rule::OneOf(allowed) => {
            if !value.as_str().is_some_and(|text| allowed.contains(&text)) {
                fail("not_allowed", &format!("One of: {}.", allowed.join(", ")));
            }
        }
        Rule::Number => {
            if positive(value).is_none() {
                fail("invalid_number", "A positive whole number.");
            }
        }
        Rule::Ids => {
            let ok = value
                .as_array()
                .is_some_and(|ids| ids.len() <= 100 && ids.iter().all(|id| positive(id).is_some()));
            if !ok {
                fail(
                    "invalid_ids",
                    "A list of at most 100 positive whole numbers.",
                );
            }
        }
        Rule::Items => items(field, value, errors),
        Rule::References => {
            let ok = value
                .as_array()
                .is_some_and(|list| list.len() <= 50 && list.iter().all(reference));
            if !ok {
                fail(
                    "invalid_references",
                    "A list of at most 50 references of 1–128 characters.",
                );
            }
        }
    }
}

fn items(field: &str, value: &Value, errors: &mut Vec<FieldError>) {
    let Some(list) = value.as_array().filter(|list| list.len() <= 500) else {
        errors.push(FieldError::new(
            field,
            "invalid_items",
            "A list of at most 500 items {sku, quantity, price}.",
        ));
        return;
    };
    for (position, item) in list.iter().enumerate() {
        let at = |name: &str| format!("{field}/{position}/{name}");
        let Some(item) = item.as_object() else {
            errors.push(FieldError::new(
                format!("{field}/{position}"),
                "invalid_item",
                "An item is {sku, quantity, price}.",
            ));
            continue;
        };
        for key in item.keys() {
            if !matches!(key.as_str(), "sku" | "quantity" | "price") {
                errors.push(FieldError::new(
                    at(key),
                    "unknown_field",
                    "An item is {sku, quantity, price}.",
                ));
            }
        }
        if !item.get("sku").is_some_and(reference) {
            errors.push(FieldError::new(
                at("sku"),
                "invalid_reference",
                "1–128 characters without control characters.",
            ));
        }
        if !item
            .get("quantity")
            .and_then(Value::as_u64)
            .is_some_and(|q| (1..=10_000).contains(&q))
        {
            errors.push(FieldError::new(
                at("quantity"),
                "out_of_range",
                "A whole number from 1 to 10,000.",
            ));
        }
        if item.get("price").and_then(decimal).is_none() {
            errors.push(FieldError::new(
                at("price"),
                "invalid_amount",
                "A decimal ≥ 0, at most 14 digits before the point and 4 after.",
            ));
        }
    }
}

fn positive(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) if text.bytes().all(|b| b.is_ascii_digit()) => u64::from_str(text).ok(),
        _ => None,
    }
    .filter(|number| *number > 0)
}

/// The amount as PostgreSQL's `numeric` reads it, when it is a plain decimal ≥ 0 that fits `numeric(18, 4)`
/// (the lifetime value that sums them is `numeric(30, 4)`).
pub fn decimal(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let ok = (1..=14).contains(&whole.len())
        && fraction.len() <= 4
        && digits(whole)
        && digits(fraction)
        && !(text.contains('.') && fraction.is_empty());
    ok.then_some(text)
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_plain_non_negative_decimals() {
        assert_eq!(decimal(&json!("12.50")).as_deref(), Some("12.50"));
        assert_eq!(decimal(&json!(3)).as_deref(), Some("3"));
        assert_eq!(decimal(&json!(0.5)).as_deref(), Some("0.5"));
        for bad in [
            json!("-1"),
            json!("1e5"),
            json!("1."),
            json!(".5"),
            json!("12.34567"),
            json!(-2),
            json!(""),
        ] {
            assert_eq!(decimal(&bad), None, "{bad}");
        }
        assert_eq!(decimal(&json!("123456789012345")), None);
    }

    #[test]
    fn types_follow_the_pattern() {
        assert!(is_type("purchase") && is_type("wishlist_add2"));
        assert!(!is_type("a") && !is_type("Purchase") && !is_type("1abc") && !is_type("page-view"));
        assert!(!is_type(&"a".repeat(65)) && is_type(&"a".repeat(64)));
    }
}
