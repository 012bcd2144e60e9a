//! Records as the REST API shows them: an `attributes` object with the type and the record's URL, then
//! every field (null when unset) under its canonical name.

use serde_json::{Map, Value, json};

use super::schema::{FieldDef, ObjectDef};
use super::store::{Record, id_of};

pub fn record_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/{version}/sobjects/{object}/{id}")
}

pub fn attributes(version: &str, object: &str, id: &str) -> Value {
    json!({ "type": object, "url": record_url(version, object, id) })
}

/// The record with `fields` only, or every field when `fields` is `None`.
pub fn render(
    version: &str,
    object: &ObjectDef,
    record: &Record,
    fields: Option<&[&FieldDef]>,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(version, object.name, id_of(record)),
    );
    let mut put = |field: &FieldDef| {
        let value = record.get(field.name).cloned().unwrap_or(Value::Null);
        out.insert(field.name.to_owned(), value);
    };
    match fields {
        Some(fields) => fields.iter().for_each(|f| put(f)),
        None => object.all_fields().for_each(put),
    }
    Value::Object(out)
}
