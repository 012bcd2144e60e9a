//! Create, update and delete with Salesforce's validation: unknown and read-only fields, required fields,
//! lookups that must point at existing records, and each object's own rules (see `rules`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::errors::SalesforceError;
use super::rules;
use super::schema::{self, Access, FieldDef, Kind, ObjectDef};
use super::seed::INTEGRATION_USER_ID;
use super::store::{PendingEvent, Record, Store, id_of};
use super::values;

pub struct Created {
    pub id: String,
    /// For a platform event: its `EventUuid`, reported as `OPERATION_ENQUEUED`.
    pub event_uuid: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Update,
}

pub fn writable_object(name: &str) -> Result<&'static ObjectDef, SalesforceError> {
    let object = schema::object(name).ok_or_else(SalesforceError::not_found)?;
    if !object.writable {
        return Err(SalesforceError::bad_request(
            "INVALID_TYPE_FOR_OPERATION",
            format!(
                "entity type {} does not support this operation",
                object.name
            ),
        ));
    }
    Ok(object)
}

pub fn create(
    store: &mut Store,
    type_name: &str,
    body: &Value,
) -> Result<Created, SalesforceError> {
    if schema::is_platform_event(type_name) {
        return publish_event(store, type_name, body);
    }
    let object = writable_object(type_name)?;
    let mut input = fields_of(object, body, Operation::Create)?;
    check_references(store, &mut input)?;
    let mut record = Record::new();
    for (field, value) in &input {
        record.insert(field.name.to_owned(), value.clone());
    }
    rules::apply_defaults(object, &mut record);
    check_required(object, &record)?;
    check_unique(store, object, &record)?;
    rules::before_insert(store, object, &mut record)?;

    let id = store.next_id(object.key_prefix);
    let now = Value::String(values::now());
    record.insert("Id".into(), Value::String(id.clone()));
    record.insert("CreatedDate".into(), now.clone());
    record.insert("LastModifiedDate".into(), now);
    record.insert("CreatedById".into(), INTEGRATION_USER_ID.into());
    store.insert(object, record.clone());
    rules::after_write(store, object, &record);
    Ok(Created {
        id,
        event_uuid: None,
    })
}

pub fn update(
    store: &mut Store,
    type_name: &str,
    id: &str,
    body: &Value,
) -> Result<(), SalesforceError> {
    let object = writable_object(type_name)?;
    let existing = store
        .find(object, id)
        .cloned()
        .ok_or_else(SalesforceError::not_found)?;
    let mut input = fields_of(object, body, Operation::Update)?;
    check_references(store, &mut input)?;
    let mut record = existing.clone();
    for (field, value) in &input {
        record.insert(field.name.to_owned(), value.clone());
    }
    check_required(object, &record)?;
    check_unique(store, object, &record)?;
    rules::before_update(store, object, &existing, &mut record)?;
    record.insert("LastModifiedDate".into(), Value::String(values::now()));
    if let Some(stored) = store.find_mut(object, id) {
        *stored = record.clone();
    }
    rules::after_write(store, object, &record);
    Ok(())
}

pub struct Upserted {
    pub id: String,
    pub created: bool,
}

/// `PATCH /sobjects/{Type}/{ExternalIdField}/{value}`: updates the record whose external id is `value`, or
/// creates one with it.
pub fn upsert(
    store: &mut Store,
    type_name: &str,
    field_name: &str,
    value: &str,
    body: &Value,
) -> Result<Upserted, SalesforceError> {
    let object = writable_object(type_name)?;
    let field = object
        .field(field_name)
        .filter(|field| field.external_id)
        .ok_or_else(|| {
            SalesforceError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!(
                    "Provided external ID field does not exist or is not accessible: {field_name}"
                ),
            )
        })?;
    let Some(fields) = body.as_object() else {
        return Err(SalesforceError::json_parser(
            "Cannot deserialize instance of SObject from a value that is not a JSON object",
        ));
    };
    if let Some(given) = fields.get(field.name)
        && given.as_str() != Some(value)
    {
        return Err(SalesforceError::bad_request(
            "INVALID_FIELD",
            format!(
                "The {} in the body does not match the one in the URL",
                field.name
            ),
        )
        .with_fields(vec![field.name.to_owned()]));
    }
    let existing: Vec<String> = store
        .records(object)
        .iter()
        .filter(|record| record.get(field.name).and_then(Value::as_str) == Some(value))
        .map(|record| id_of(record).to_owned())
        .collect();
    match existing.as_slice() {
        [] => {
            let mut body = fields.clone();
            body.insert(field.name.to_owned(), Value::String(value.to_owned()));
            let created = create(store, object.name, &Value::Object(body))?;
            Ok(Upserted {
                id: created.id,
                created: true,
            })
        }
        [id] => {
            let mut body = fields.clone();
            body.remove(field.name);
            update(store, object.name, id, &Value::Object(body))?;
            Ok(Upserted {
                id: id.clone(),
                created: false,
            })
        }
        _ => Err(SalesforceError::new(
            actix_web::http::StatusCode::MULTIPLE_CHOICES,
            "MULTIPLE_CHOICES",
            format!(
                "More than one record found for external id field {}",
                field.name
            ),
        )),
    }
}

/// External ids are unique: no other record of the object may hold the same value.
fn check_unique(store: &Store, object: &ObjectDef, record: &Record) -> Result<(), SalesforceError> {
    let own_id = record.get("Id").and_then(Value::as_str);
    for field in object.fields.iter().filter(|field| field.external_id) {
        let Some(value) = record
            .get(field.name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
        else {
            continue;
        };
        let duplicate = store.records(object).iter().find(|other| {
            other.get(field.name).and_then(Value::as_str) == Some(value)
                && Some(id_of(other)) != own_id
        });
        if let Some(other) = duplicate {
            return Err(SalesforceError::bad_request(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {} duplicates value on record with id: {}",
                    field.name,
                    id_of(other)
                ),
            )
            .with_fields(vec![field.name.to_owned()]));
        }
    }
    Ok(())
}

pub fn delete(store: &mut Store, type_name: &str, id: &str) -> Result<(), SalesforceError> {
    let object = writable_object(type_name)?;
    let record = store
        .find(object, id)
        .cloned()
        .ok_or_else(SalesforceError::not_found)?;
    rules::before_delete(store, object, &record)?;

    let doomed = cascade(store, object, id_of(&record));
    if let Some((blocker, referenced)) = blocking_reference(store, &doomed) {
        return Err(SalesforceError::bad_request(
            "DELETE_FAILED",
            format!(
                "Your attempt to delete {referenced} could not be completed because it is associated with the following {}s.: {}",
                blocker.0.name.to_lowercase(),
                blocker.1
            ),
        ));
    }
    for (doomed_object, doomed_id) in &doomed {
        store.remove(doomed_object, doomed_id);
    }
    rules::after_delete(store, object, &record);
    Ok(())
}

/// The record and everything deleted with it (an Order's items, a Case's comments, Tasks about them).
fn cascade(
    store: &Store,
    object: &'static ObjectDef,
    id: &str,
) -> Vec<(&'static ObjectDef, String)> {
    let mut doomed = vec![(object, id.to_owned())];
    let mut index = 0;
    while let Some((parent, parent_id)) = doomed.get(index).cloned() {
        for (child_name, field) in rules::cascading_children(parent) {
            let Some(child) = schema::object(child_name) else {
                continue;
            };
            for record in store.referencing(child, field, &parent_id) {
                let child_id = id_of(record).to_owned();
                if !doomed.iter().any(|(_, id)| *id == child_id) {
                    doomed.push((child, child_id));
                }
            }
        }
        index += 1;
    }
    doomed
}

/// A surviving record that still points at one of the doomed ones: (its object and id, the doomed id).
fn blocking_reference(
    store: &Store,
    doomed: &[(&'static ObjectDef, String)],
) -> Option<((&'static ObjectDef, String), String)> {
    let doomed_ids: HashSet<&str> = doomed.iter().map(|(_, id)| id.as_str()).collect();
    for object in &schema::OBJECTS {
        for record in store.records(object) {
            if doomed_ids.contains(id_of(record)) {
                continue;
            }
            for field in object.all_fields() {
                if !matches!(field.kind, Kind::Reference(_)) || field.name == "CreatedById" {
                    continue;
                }
                if let Some(target) = record.get(field.name).and_then(Value::as_str)
                    && doomed_ids.contains(target)
                {
                    return Some(((object, id_of(record).to_owned()), target.to_owned()));
                }
            }
        }
    }
    None
}

/// The body's fields, resolved against the object and coerced, refusing unknown and read-only ones.
fn fields_of(
    object: &ObjectDef,
    body: &Value,
    operation: Operation,
) -> Result<Vec<(&'static FieldDef, Value)>, SalesforceError> {
    let Some(body) = body.as_object() else {
        return Err(SalesforceError::json_parser(
            "Cannot deserialize instance of SObject from a value that is not a JSON object",
        ));
    };
    let mut fields = Vec::with_capacity(body.len());
    for (name, value) in body {
        if name == "attributes" {
            continue;
        }
        let field = object
            .field(name)
            .ok_or_else(|| SalesforceError::invalid_field(object.name, name))?;
        let writable = match field.access {
            Access::Editable => true,
            Access::CreateOnly => operation == Operation::Create,
            Access::ReadOnly => false,
        };
        if !writable {
            return Err(SalesforceError::bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    field.name
                ),
            )
            .with_fields(vec![field.name.to_owned()]));
        }
        fields.push((field, values::coerce(field, value)?));
    }
    Ok(fields)
}

fn check_required(object: &ObjectDef, record: &Record) -> Result<(), SalesforceError> {
    let missing: Vec<String> = object
        .fields
        .iter()
        .filter(|f| f.required && record.get(f.name).is_none_or(Value::is_null))
        .map(|f| f.name.to_owned())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SalesforceError::bad_request(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", missing.join(", ")),
    )
    .with_fields(missing))
}

/// Checks every lookup points at an existing record of the right type, and stores its 18-character id.
fn check_references(
    store: &Store,
    input: &mut [(&'static FieldDef, Value)],
) -> Result<(), SalesforceError> {
    for (field, value) in input.iter_mut() {
        let (Kind::Reference(targets), Some(id)) = (field.kind, value.as_str()) else {
            continue;
        };
        let target = schema::object_of_id(id);
        let right_type = target.is_some_and(|t| targets.is_empty() || targets.contains(&t.name));
        if !right_type {
            return Err(SalesforceError::bad_request(
                "MALFORMED_ID",
                format!("{}: id value of incorrect type: {id}", field.name),
            )
            .with_fields(vec![field.name.to_owned()]));
        }
        let Some((_, target)) = store.locate(id) else {
            return Err(SalesforceError::bad_request(
                "INVALID_CROSS_REFERENCE_KEY",
                format!("invalid cross reference id: {id}"),
            )
            .with_fields(vec![field.name.to_owned()]));
        };
        *value = Value::String(id_of(target).to_owned());
    }
    Ok(())
}

/// A platform event is not stored as a record: it is queued for the event bus with a fresh `EventUuid`.
fn publish_event(store: &mut Store, name: &str, body: &Value) -> Result<Created, SalesforceError> {
    let Some(body) = body.as_object() else {
        return Err(SalesforceError::json_parser(
            "Cannot deserialize instance of SObject from a value that is not a JSON object",
        ));
    };
    let mut payload = Map::new();
    for (field, value) in body {
        if field == "attributes" {
            continue;
        }
        if !field.to_ascii_lowercase().ends_with("__c") || value.is_object() || value.is_array() {
            return Err(SalesforceError::invalid_field(name, field));
        }
        payload.insert(field.clone(), value.clone());
    }
    let id = store.next_id(schema::EVENT_KEY_PREFIX);
    let uuid = uuid::Uuid::new_v4().to_string();
    store.enqueue_event(PendingEvent {
        name: name.to_owned(),
        uuid: uuid.clone(),
        payload,
    });
    Ok(Created {
        id,
        event_uuid: Some(uuid),
    })
}
