//! The placeholders a template may use: a documented allow-list per purpose (docs/crm/messages.md). Anything
//! else (a misspelt name, a whole object, a global function) is refused when the template is saved.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crm::consent::Purpose;

/// Every purpose may use these.
const COMMON: &[&str] = &[
    "profile.first_name",
    "profile.last_name",
    "profile.tier",
    "profile.city",
    "profile.country",
    "brand.name",
];
/// The advisor writing (outreach) or hosting (events, service appointments).
const ADVISOR: &[&str] = &["advisor.first_name", "advisor.last_name"];
/// The event invited to, or the appointment a service message is about.
const EVENT: &[&str] = &["event.name", "event.starts_at", "event.location"];
/// A brand event's invitation only: the guest's signed RSVP link (`brand_events`).
const EVENT_INVITATION: &[&str] = &["event.rsvp_url"];

/// The placeholders of `purpose`, sorted.
pub fn allowed(purpose: Purpose) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = COMMON.to_vec();
    match purpose {
        Purpose::Marketing => {}
        Purpose::Outreach => names.extend_from_slice(ADVISOR),
        Purpose::Events => {
            names.extend_from_slice(ADVISOR);
            names.extend_from_slice(EVENT);
            names.extend_from_slice(EVENT_INVITATION);
        }
        Purpose::Service => {
            names.extend_from_slice(ADVISOR);
            names.extend_from_slice(EVENT);
        }
    }
    names.sort_unstable();
    names
}

/// What the caller knows beyond the profile and the brand: the advisor, the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMessageContext)]
pub struct MessageContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisor: Option<AdvisorContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventContext>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMessageAdvisor)]
pub struct AdvisorContext {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmMessageEvent)]
pub struct EventContext {
    #[serde(default)]
    pub name: String,
    /// As it should read in the message (the caller formats it for the language).
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub location: String,
    /// The guest's own RSVP link (an absolute http(s) URL); left out of the request when empty, so the
    /// send-path digests of callers that never give one stay what they were.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rsvp_url: String,
}

/// The longest RSVP link a context may carry.
const MAX_URL: usize = 2000;

impl MessageContext {
    /// The first context object among `used` placeholders that the caller did not give (`advisor`, `event`).
    pub fn missing<'a>(&self, used: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
        for name in used {
            if name.starts_with("advisor.") && self.advisor.is_none() {
                return Some("advisor");
            }
            if name.starts_with("event.") && self.event.is_none() {
                return Some("event");
            }
        }
        None
    }

    /// Checks lengths and control characters; `Err(field, why)`.
    pub fn check(&self) -> Result<(), (String, &'static str)> {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        if let Some(advisor) = &self.advisor {
            fields.push(("context.advisor.first_name", &advisor.first_name));
            fields.push(("context.advisor.last_name", &advisor.last_name));
        }
        if let Some(event) = &self.event {
            fields.push(("context.event.name", &event.name));
            fields.push(("context.event.starts_at", &event.starts_at));
            fields.push(("context.event.location", &event.location));
        }
        for (field, value) in fields {
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                return Err((
                    field.to_owned(),
                    "At most 200 characters, without control characters.",
                ));
            }
        }
        if let Some(url) = self.event.as_ref().map(|e| e.rsvp_url.as_str())
            && !url.is_empty()
        {
            let absolute = url.starts_with("https://") || url.starts_with("http://");
            let clean = !url.chars().any(|c| c.is_control() || c.is_whitespace());
            if !absolute || !clean || url.len() > MAX_URL {
                return Err((
                    "context.event.rsvp_url".to_owned(),
                    "An absolute http(s) URL of at most 2,000 characters.",
                ));
            }
        }
        Ok(())
    }
}

/// What a template renders with: the profile's fields (empty when unknown), the brand's name, the context.
pub struct Values {
    pub profile: BTreeMap<String, Value>,
    pub brand_name: String,
    pub context: MessageContext,
}

impl Values {
    pub fn to_value(&self) -> Value {
        let text = |s: &str| Value::from(s.to_owned());
        let mut root: BTreeMap<String, Value> = BTreeMap::new();
        root.insert("profile".into(), Value::from(self.profile.clone()));
        let mut brand = BTreeMap::new();
        brand.insert("name".to_owned(), text(&self.brand_name));
        root.insert("brand".into(), Value::from(brand));
        let advisor = self.context.advisor.clone().unwrap_or_default();
        let mut map = BTreeMap::new();
        map.insert("first_name".to_owned(), text(&advisor.first_name));
        map.insert("last_name".to_owned(), text(&advisor.last_name));
        root.insert("advisor".into(), Value::from(map));
        let event = self.context.event.clone().unwrap_or_default();
        let mut map = BTreeMap::new();
        map.insert("name".to_owned(), text(&event.name));
        map.insert("starts_at".to_owned(), text(&event.starts_at));
        map.insert("location".to_owned(), text(&event.location));
        map.insert("rsvp_url".to_owned(), text(&event.rsvp_url));
        root.insert("event".into(), Value::from(map));
        Value::from(root)
    }
}

/// The profile's fields a template may name, each a string (empty when the profile has none).
pub fn profile_values(profile: &crate::crm::profile::Profile) -> BTreeMap<String, Value> {
    let a = &profile.attributes;
    let mut map = BTreeMap::new();
    for (name, value) in [
        ("first_name", &a.first_name),
        ("last_name", &a.last_name),
        ("tier", &a.tier),
        ("city", &a.city),
        ("country", &a.country),
    ] {
        map.insert(
            name.to_owned(),
            Value::from(value.clone().unwrap_or_default()),
        );
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_link(url: &str) -> MessageContext {
        MessageContext {
            advisor: None,
            event: Some(EventContext {
                name: "Soirée".into(),
                rsvp_url: url.into(),
                ..EventContext::default()
            }),
        }
    }

    #[test]
    fn an_rsvp_link_is_an_absolute_http_url_and_left_out_of_the_request_when_empty() {
        assert!(
            with_link("https://example.com/api/v1/rsvp/abc")
                .check()
                .is_ok()
        );
        assert!(with_link("").check().is_ok());
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "https://a b",
            &format!("https://{}", "x".repeat(2000)),
        ] {
            let refused = with_link(bad).check().err().map(|(field, _)| field);
            assert_eq!(refused.as_deref(), Some("context.event.rsvp_url"), "{bad}");
        }
        let serialised = serde_json::to_value(with_link("")).unwrap_or_default();
        assert!(
            serialised["event"].get("rsvp_url").is_none(),
            "{serialised}"
        );
    }
}
