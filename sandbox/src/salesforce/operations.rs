//! The REST operations on records and queries, independent of HTTP, so a plain request and a composite
//! subrequest behave identically. They run on a store the caller has locked.

use std::sync::Mutex;

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::dml;
use super::errors::SalesforceError;
use super::query::{self, Cursors};
use super::render::{record_url, render};
use super::schema::{self, FieldDef};
use super::store::Store;

pub enum Operation<'a> {
    Create {
        object: &'a str,
        body: &'a Value,
    },
    Read {
        object: &'a str,
        id: &'a str,
        fields: Option<&'a str>,
    },
    Update {
        object: &'a str,
        id: &'a str,
        body: &'a Value,
    },
    Delete {
        object: &'a str,
        id: &'a str,
    },
    /// By an external id field: 201 and `created: true` for a new record, 200 and `created: false` for an
    /// update, both with the save result.
    Upsert {
        object: &'a str,
        field: &'a str,
        value: &'a str,
        body: &'a Value,
    },
    Query {
        soql: &'a str,
    },
    QueryMore {
        locator: &'a str,
    },
}

pub struct Context<'a> {
    /// As in the URL, e.g. `v60.0`.
    pub version: &'a str,
    pub page_size: usize,
    pub cursors: &'a Mutex<Cursors>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// The new record's URL, which composite reports as `Location`.
    pub location: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            location: None,
        }
    }
}

pub fn perform(
    context: &Context<'_>,
    store: &mut Store,
    operation: Operation<'_>,
) -> Result<Reply, SalesforceError> {
    match operation {
        Operation::Create { object, body } => {
            let created = dml::create(store, object, body)?;
            let errors = match &created.event_uuid {
                Some(uuid) => {
                    json!([{ "statusCode": "OPERATION_ENQUEUED", "message": uuid, "fields": [] }])
                }
                None => json!([]),
            };
            let type_name = schema::object(object).map_or(object, |o| o.name);
            Ok(Reply {
                status: StatusCode::CREATED,
                body: Some(json!({ "id": created.id, "success": true, "errors": errors })),
                location: Some(record_url(context.version, type_name, &created.id)),
            })
        }
        Operation::Read { object, id, fields } => {
            let definition = schema::object(object)
                .filter(|o| !schema::is_platform_event(o.name))
                .ok_or_else(SalesforceError::not_found)?;
            let selected = fields
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(|name| {
                            definition.field(name).ok_or_else(|| {
                                SalesforceError::invalid_field(definition.name, name)
                            })
                        })
                        .collect::<Result<Vec<&FieldDef>, _>>()
                })
                .transpose()?;
            let record = store
                .find(definition, id)
                .ok_or_else(SalesforceError::not_found)?;
            Ok(Reply::ok(render(
                context.version,
                definition,
                record,
                selected.as_deref(),
            )))
        }
        Operation::Update { object, id, body } => {
            dml::update(store, object, id, body)?;
            Ok(Reply::no_content())
        }
        Operation::Delete { object, id } => {
            dml::delete(store, object, id)?;
            Ok(Reply::no_content())
        }
        Operation::Upsert {
            object,
            field,
            value,
            body,
        } => {
            let upserted = dml::upsert(store, object, field, value, body)?;
            let type_name = schema::object(object).map_or(object, |o| o.name);
            let body = json!({
                "id": upserted.id, "success": true, "errors": [], "created": upserted.created,
            });
            Ok(if upserted.created {
                Reply {
                    status: StatusCode::CREATED,
                    body: Some(body),
                    location: Some(record_url(context.version, type_name, &upserted.id)),
                }
            } else {
                Reply::ok(body)
            })
        }
        Operation::Query { soql } => Ok(Reply::ok(query::first_page(context, store, soql)?)),
        Operation::QueryMore { locator } => Ok(Reply::ok(query::next_page(context, locator)?)),
    }
}
