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

/// The placeholders of `purpose`, sorted.
pub fn allowed(purpose: Purpose) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = COMMON.to_vec();
    match purpose {
        Purpose::Marketing => {}
        Purpose::Outreach => names.extend_from_slice(ADVISOR),
        Purpose::Events | Purpose::Service => {
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
}

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
