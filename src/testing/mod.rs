//! Shared strategies for the property tests that feed every validator and provider mapper hostile input:
//! a mapper may refuse a record, a validator may refuse a value, neither may panic.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Text an attacker or a broken provider might send: multi-byte and combining characters, controls,
/// digits and separators mixed, empty and long.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,40}",
        2 => "[0-9a-zA-Z \\-+()./:@_日本〒ß\u{301}\u{200b}\u{0}\t\n]{0,24}",
        1 => "[0-9]{0,12}",
        1 => Just(String::new()),
        1 => "[0-9０-９]{1,9}",
        1 => "\\PC{200,400}",
    ]
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_text(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A scalar of any JSON type, the way a provider's typing drifts (numbers as strings, empty strings for
/// absent values, nulls).
fn any_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::String(String::new())),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        hostile_text().prop_map(Value::String),
        any::<i64>().prop_map(|n| Value::String(n.to_string())),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(Map::new())),
    ]
}

/// `sample` with some of its values replaced by values of another shape and some keys dropped: close enough
/// to a real record to reach the mapper, wrong in the ways real records are wrong.
pub fn mutated(sample: Value) -> BoxedStrategy<Value> {
    match sample {
        Value::Object(map) => {
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = map
                .into_iter()
                .map(|(key, value)| {
                    let keep = (key.clone(), value.clone());
                    prop_oneof![
                        6 => Just(Some(keep)),
                        2 => mutated(value).prop_map(move |v| Some((key.clone(), v))),
                        1 => Just(None),
                    ]
                    .boxed()
                })
                .collect();
            fields
                .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
                .boxed()
        }
        Value::Array(items) => {
            let items: Vec<BoxedStrategy<Value>> = items.into_iter().map(mutated).collect();
            items.prop_map(Value::Array).boxed()
        }
        scalar => prop_oneof![
            3 => Just(scalar),
            2 => any_scalar(),
        ]
        .boxed(),
    }
}

/// The proptest configuration for these tests: enough cases to find a bad slice, few enough for CI.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
