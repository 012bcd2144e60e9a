//! One processor per interaction context: it validates the context's metadata at write time (field errors
//! with paths), normalises it, and says what the enrichment job must look up. The registry holds the
//! default processors and, per brand, processors that replace a default or add a context of the brand's
//! own; both are registered at startup, so a brand's processor never touches the core.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::fields::Fields;
use crate::errors::FieldError;

/// What the enrichment job resolves for an interaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Wants {
    /// Product names, images and prices from the brand catalogue.
    pub skus: Vec<String>,
    /// The order's status from Salesforce.
    pub order_number: Option<String>,
}

impl Wants {
    pub fn is_empty(&self) -> bool {
        self.skus.is_empty() && self.order_number.is_none()
    }
}

pub trait Processor: Send + Sync + 'static {
    fn context(&self) -> &'static str;

    /// The normalised metadata, or every field error (`metadata.…`).
    fn check(&self, metadata: &Value) -> Result<Value, Vec<FieldError>>;

    /// What to enrich, from metadata `check` accepted.
    fn wants(&self, metadata: &Value) -> Wants {
        let skus = metadata["skus"]
            .as_array()
            .map(|skus| {
                skus.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut wants = Wants {
            skus,
            order_number: metadata["order_number"].as_str().map(str::to_owned),
        };
        if let Some(sku) = metadata["sku"].as_str() {
            wants.skus.push(sku.to_owned());
        }
        wants
    }
}

/// A processor written as one function from the metadata's fields to its normalised form.
pub struct FnProcessor {
    pub context: &'static str,
    pub read: fn(&mut Fields<'_>) -> Value,
}

impl Processor for FnProcessor {
    fn context(&self) -> &'static str {
        self.context
    }

    fn check(&self, metadata: &Value) -> Result<Value, Vec<FieldError>> {
        let mut errors = Vec::new();
        let normalised = match Fields::of(metadata, &mut errors) {
            Some(mut fields) => {
                let value = (self.read)(&mut fields);
                fields.finish();
                value
            }
            None => Value::Null,
        };
        if errors.is_empty() {
            Ok(strip_nulls(normalised))
        } else {
            Err(errors)
        }
    }
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

pub const CHANNELS: [&str; 10] = [
    "call",
    "sms",
    "email",
    "whatsapp",
    "wechat",
    "line",
    "lineworks",
    "kakao",
    "postal",
    "action",
];

fn defaults() -> Vec<FnProcessor> {
    vec![
        FnProcessor {
            context: "generic",
            // `message_id`: the send path's message when the interaction logs an outreach.
            read: |f| json!({ "topic": f.text("topic", false, 200), "message_id": f.text("message_id", false, 40) }),
        },
        FnProcessor {
            context: "store_visit",
            read: |f| {
                json!({
                    "store": f.text("store", false, 40),
                    "duration_minutes": f.whole("duration_minutes", false, 1..=600),
                    "purchased": f.flag("purchased"),
                })
            },
        },
        FnProcessor {
            context: "product_share",
            read: |f| {
                json!({
                    "skus": f.skus("skus", true, 20),
                    "message": f.text("message", false, 1000),
                    "message_id": f.text("message_id", false, 40),
                })
            },
        },
        FnProcessor {
            context: "appointment",
            read: |f| {
                json!({
                    "starts_at": f.timestamp("starts_at", true),
                    "purpose": f.text("purpose", false, 200),
                })
            },
        },
        FnProcessor {
            context: "order",
            read: |f| json!({ "order_number": f.text("order_number", true, 40) }),
        },
        FnProcessor {
            context: "pay_by_link",
            read: |f| {
                json!({
                    "amount": f.amount("amount", true),
                    "currency": f.currency("currency", true),
                    "link_ref": f.text("link_ref", false, 100),
                })
            },
        },
        FnProcessor {
            context: "curation",
            read: |f| json!({ "skus": f.skus("skus", true, 50), "title": f.text("title", false, 200) }),
        },
        FnProcessor {
            context: "gift",
            read: |f| {
                json!({
                    "occasion": f.text("occasion", true, 100),
                    "skus": Some(f.skus("skus", false, 20)).filter(|s| !s.is_empty()),
                    "budget": f.amount("budget", false),
                })
            },
        },
        FnProcessor {
            context: "event_invitation",
            read: |f| {
                json!({
                    "event_name": f.text("event_name", true, 200),
                    "event_date": f.date("event_date", true),
                    "rsvp": f.one_of("rsvp", false, &["yes", "no", "maybe"]),
                })
            },
        },
        FnProcessor {
            context: "after_sales",
            read: |f| {
                json!({
                    "sku": f.sku("sku", true),
                    "issue": f.text("issue", true, 1000),
                    "repair_ref": f.text("repair_ref", false, 100),
                })
            },
        },
        FnProcessor {
            context: "consultation",
            read: |f| json!({ "topic": f.text("topic", true, 200) }),
        },
        FnProcessor {
            context: "wishlist",
            read: |f| json!({ "skus": f.skus("skus", true, 50) }),
        },
    ]
}

/// Atelier's bespoke orders: a base model made to the client's measurements.
fn made_to_order() -> FnProcessor {
    FnProcessor {
        context: "made_to_order",
        read: |f| {
            let base_sku = f.sku("base_sku", true);
            let monogram = f.text("monogram", false, 3);
            if monogram
                .as_deref()
                .is_some_and(|m| !m.chars().all(|c| c.is_ascii_uppercase()))
            {
                f.fail_public("monogram", "invalid", "1–3 capital letters.");
            }
            json!({
                "base_sku": base_sku,
                "measurements": f.measures("measurements", true, 20),
                "leather": f.text("leather", false, 60),
                "monogram": monogram,
                "deadline": f.date("deadline", false),
                // What the catalogue enriches: the base model.
                "sku": base_sku,
            })
        },
    }
}

type ByContext = BTreeMap<&'static str, Arc<dyn Processor>>;

/// The processors of every brand.
#[derive(Clone)]
pub struct Registry {
    defaults: Arc<ByContext>,
    brands: Arc<HashMap<String, ByContext>>,
}

impl Registry {
    pub fn builder() -> RegistryBuilder {
        let mut builder = RegistryBuilder::default();
        for processor in defaults() {
            builder = builder.default_processor(Arc::new(processor));
        }
        builder
    }

    /// The defaults and the demo brand `atelier`'s own `made_to_order`.
    pub fn standard() -> Registry {
        Registry::builder()
            .brand_processor("atelier", Arc::new(made_to_order()))
            .build()
    }

    /// The brand's processor for `context`: its own, else the default.
    pub fn processor(&self, brand: &str, context: &str) -> Option<Arc<dyn Processor>> {
        self.brands
            .get(brand)
            .and_then(|own| own.get(context))
            .or_else(|| self.defaults.get(context))
            .cloned()
    }

    /// The contexts the brand knows, sorted.
    pub fn contexts(&self, brand: &str) -> Vec<&'static str> {
        let mut contexts: Vec<&'static str> = self.defaults.keys().copied().collect();
        if let Some(own) = self.brands.get(brand) {
            contexts.extend(own.keys().copied());
        }
        contexts.sort_unstable();
        contexts.dedup();
        contexts
    }
}

#[derive(Default)]
pub struct RegistryBuilder {
    defaults: ByContext,
    brands: HashMap<String, ByContext>,
}

impl RegistryBuilder {
    pub fn default_processor(mut self, processor: Arc<dyn Processor>) -> Self {
        self.defaults.insert(processor.context(), processor);
        self
    }

    /// Replaces the default of the same context for this brand, or adds the brand's own context.
    pub fn brand_processor(mut self, brand: &str, processor: Arc<dyn Processor>) -> Self {
        self.brands
            .entry(brand.to_owned())
            .or_default()
            .insert(processor.context(), processor);
        self
    }

    pub fn build(self) -> Registry {
        Registry {
            defaults: Arc::new(self.defaults),
            brands: Arc::new(self.brands),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_brands_processor_serves_that_brand_only() {
        let registry = Registry::standard();
        assert!(registry.processor("atelier", "made_to_order").is_some());
        assert!(registry.processor("maison", "made_to_order").is_none());
        assert!(registry.processor("maison", "gift").is_some());
        assert!(registry.contexts("atelier").contains(&"made_to_order"));
        assert!(!registry.contexts("maison").contains(&"made_to_order"));
    }

    #[test]
    fn a_brand_replaces_a_default() {
        struct Strict;
        impl Processor for Strict {
            fn context(&self) -> &'static str {
                "generic"
            }
            fn check(&self, _: &Value) -> Result<Value, Vec<FieldError>> {
                Err(vec![FieldError::new("metadata", "refused", "Strict.")])
            }
        }
        let registry = Registry::builder()
            .brand_processor("maison", Arc::new(Strict))
            .build();
        let maison = registry.processor("maison", "generic").unwrap();
        assert!(maison.check(&json!({})).is_err());
        let atelier = registry.processor("atelier", "generic").unwrap();
        assert_eq!(atelier.check(&json!({})).unwrap(), json!({}));
    }

    #[test]
    fn field_errors_name_their_paths() {
        let registry = Registry::standard();
        let share = registry.processor("maison", "product_share").unwrap();
        let errors = share
            .check(&json!({ "skus": ["OK-1", "bad sku", "OK-1"], "extra": 1 }))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.skus[1]", "metadata.skus[2]", "metadata.extra"]
        );
        let ok = share.check(&json!({ "skus": ["A-1", "B-2"] })).unwrap();
        assert_eq!(share.wants(&ok).skus, ["A-1", "B-2"]);
    }
}
