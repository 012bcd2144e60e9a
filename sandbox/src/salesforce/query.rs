//! `GET /query?q=` and `GET /query/{locator}`: results beyond the first page are kept in memory and
//! served through `nextRecordsUrl` locators (`<cursorId>-<offset>`), like Salesforce's query cursors.

use std::collections::{HashMap, VecDeque};

use actix_web::{HttpRequest, HttpResponse, web};
use rand::Rng;
use serde_json::{Value, json};

use super::errors::SalesforceError;
use super::operations::{Context, Operation};
use super::store::Store;
use super::{lock, soql};
use crate::SandboxState;

/// Open cursors kept at most; the oldest is forgotten first (Salesforce caps open cursors per user too).
const MAX_CURSORS: usize = 200;

#[derive(Default)]
pub struct Cursors {
    results: HashMap<String, Vec<Value>>,
    opened: VecDeque<String>,
}

impl Cursors {
    fn open(&mut self, records: Vec<Value>) -> String {
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(13)
            .map(char::from)
            .collect();
        let id = format!("01gSB{}", suffix.to_ascii_uppercase());
        if self.opened.len() >= MAX_CURSORS
            && let Some(oldest) = self.opened.pop_front()
        {
            self.results.remove(&oldest);
        }
        self.results.insert(id.clone(), records);
        self.opened.push_back(id.clone());
        id
    }

    pub fn clear(&mut self) {
        self.results.clear();
        self.opened.clear();
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/query", "/queryAll"] {
        cfg.route(prefix, web::get().to(query))
            .route(&format!("{prefix}/"), web::get().to(query))
            .route(&format!("{prefix}/{{locator}}"), web::get().to(query_more));
    }
}

async fn query(req: HttpRequest, state: web::Data<SandboxState>) -> HttpResponse {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let Some(soql) = params
        .iter()
        .find_map(|(k, v)| (k == "q").then_some(v.as_str()))
    else {
        return super::error_response(&SalesforceError::bad_request(
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    super::respond(&req, &state, Operation::Query { soql })
}

async fn query_more(req: HttpRequest, state: web::Data<SandboxState>) -> HttpResponse {
    let locator = req
        .match_info()
        .get("locator")
        .unwrap_or_default()
        .to_owned();
    super::respond(&req, &state, Operation::QueryMore { locator: &locator })
}

pub fn first_page(
    context: &Context<'_>,
    store: &Store,
    query: &str,
) -> Result<Value, SalesforceError> {
    let outcome = soql::run(query, store, context.version)?;
    let total_size = outcome.total_size;
    let records = outcome.records;
    if records.len() <= context.page_size {
        return Ok(json!({ "totalSize": total_size, "done": true, "records": records }));
    }
    let first = records[..context.page_size].to_vec();
    // The cursor keeps the whole result so a locator's offset indexes it directly.
    let cursor = lock(context.cursors).open(records);
    Ok(json!({
        "totalSize": total_size,
        "done": false,
        "nextRecordsUrl": next_url(context.version, &cursor, context.page_size),
        "records": first,
    }))
}

pub fn next_page(context: &Context<'_>, locator: &str) -> Result<Value, SalesforceError> {
    let invalid = || SalesforceError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursors = lock(context.cursors);
    let all = cursors.results.get(cursor).ok_or_else(invalid)?;
    if offset == 0 || offset > all.len() {
        return Err(invalid());
    }
    let end = offset.saturating_add(context.page_size).min(all.len());
    let page: Vec<Value> = all[offset..end].to_vec();
    let mut body = json!({ "totalSize": all.len(), "done": end == all.len(), "records": page });
    if end < all.len()
        && let Value::Object(fields) = &mut body
    {
        fields.insert(
            "nextRecordsUrl".into(),
            next_url(context.version, cursor, end).into(),
        );
    }
    Ok(body)
}

fn next_url(version: &str, cursor: &str, offset: usize) -> String {
    format!("/services/data/{version}/query/{cursor}-{offset}")
}
