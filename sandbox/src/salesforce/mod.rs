//! The Salesforce stand-in: OAuth token endpoint (client credentials and JWT bearer), the REST API under
//! `/services/data/vXX.X/` (SOQL query with paging, sObject CRUD, composite, sObject Collections, platform
//! event publishing) and a minimal Bayeux/CometD endpoint (`/cometd/XX.X`) delivering platform events with
//! replay ids. Seeded from `crate::demo`. Control routes under `/__sandbox/salesforce/`.
//!
//! Deviations from the real Salesforce, chosen on purpose:
//! - Any `vNN.N` API version is accepted and behaves the same.
//! - Only the objects and fields in `schema` exist; there is no describe endpoint. Number fields are doubles
//!   on the wire (`101.0`), as in the real API. Ids are `<prefix>SB<10 digits>AAA`: 18 characters, but the
//!   last three are not the real case-checksum. The 15-character form of an 18-character id is accepted.
//! - Lookups must point at existing records of the right object (`MALFORMED_ID`,
//!   `INVALID_CROSS_REFERENCE_KEY`). Deleting a record deletes an Order's items, a Case's comments, an
//!   Account's contacts and cases, a product's or price book's entries, and Tasks about it; any other record
//!   still pointing at it blocks the deletion (`DELETE_FAILED`).
//! - Order rules: created as Draft only; activation needs at least one item and sets `ActivatedDate`;
//!   `AccountId` is editable only while Draft; items need the order's price book (`Price Book Not Set on
//!   Order`) and an active entry; quantities and prices of an activated order's items are locked (custom
//!   fields such as `WHMCS_Service_ID__c` stay editable); an activated order cannot be deleted.
//! - SOQL: the subset in `soql` (no aggregates but `COUNT()`, no `GROUP BY`, no date literals beyond
//!   `TODAY`/`YESTERDAY`/`TOMORROW`, no semi-joins, one level of child subqueries). A polymorphic lookup
//!   (`Task.What`) exposes only `Id` and `Name`. Results are fixed when the query runs; cursors are kept in
//!   memory (the latest 200) instead of expiring after 15 minutes.
//! - Platform events: any `<Name>__e` may be published with any `__c` fields (no event schema). The
//!   `schema` id in delivered messages is a stable hash of the event name. The latest 1,000 events per
//!   channel are retained instead of 72 hours. Events published inside a composite request that is rolled
//!   back are discarded (publish-after-commit behaviour).
//! - CometD: long-polling only; no `/meta/connect` "first connect returns at once" rule; an invalid or
//!   expired Bearer token gets HTTP 401 with the REST error array rather than a Bayeux `403::Handshake
//!   denied` message. A replay id is valid when it lies within the retained window of the channel.
//! - OAuth: `invalid_client_id` for an unknown client id (as the real server answers), `invalid_client` for
//!   a wrong secret, `invalid_grant` for a bad assertion (audience, expiry, signature); any non-empty `sub`
//!   is accepted. The token `signature` is random, not an HMAC. The JWT flow answers with `scope` `id api`
//!   and without `issued_at`/`signature`, as the real flow does.
//! - External id fields (`Portal_Order_Id__c`, `Portal_Item_Key__c`, `Portal_Case_Key__c`,
//!   `Portal_User_Id__c`) are text, unique and case-sensitive; upsert by them works alone and in composite.
//! - sObject Collections with `allOrNone` report the records that were fine as
//!   `ALL_OR_NONE_OPERATION_ROLLED_BACK`, as the real API does; composite uses `PROCESSING_HALTED`.

mod auth;
mod base64;
mod collections;
mod cometd;
mod composite;
mod control;
mod dml;
mod errors;
mod events;
mod luxury;
pub mod luxury_clients;
mod operations;
mod query;
mod render;
mod rules;
mod schema;
mod seed;
mod sessions;
mod sobjects;
mod soql;
mod store;
mod values;

use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::SandboxState;
use errors::SalesforceError;
use events::EventBus;
use operations::{Context, Operation, Reply};
use query::Cursors;
use sessions::Sessions;
use store::Store;

/// Request bodies up to this size (a full Collections request fits easily).
const MAX_BODY_BYTES: usize = 4 << 20;

pub struct State {
    store: Mutex<Store>,
    sessions: Sessions,
    cursors: Mutex<Cursors>,
    events: EventBus,
}

impl State {
    pub fn seeded() -> Self {
        Self {
            store: Mutex::new(seed::seeded_store()),
            sessions: Sessions::default(),
            cursors: Mutex::new(Cursors::default()),
            events: EventBus::default(),
        }
    }

    pub fn reset(&self) {
        *lock(&self.store) = seed::seeded_store();
        self.sessions.reset();
        lock(&self.cursors).clear();
        self.events.reset();
    }

    /// Runs `change` on the locked store, then publishes the platform events it left for publication.
    fn write<R>(&self, change: impl FnOnce(&mut Store) -> R) -> R {
        let (result, events) = {
            let mut store = lock(&self.store);
            let result = change(&mut store);
            (result, store.take_events())
        };
        for event in events {
            self.events.publish(event);
        }
        result
    }
}

/// A poisoned lock only means another request panicked mid-way; the data is still usable for a sandbox.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/services/oauth2/token", web::post().to(auth::token))
        .service(
            web::scope("/services/data")
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route("", web::get().to(versions))
                .route("/", web::get().to(versions))
                .service(
                    web::scope("/{version}")
                        .wrap(from_fn(require_session))
                        .configure(query::routes)
                        .configure(sobjects::routes)
                        .configure(composite::routes)
                        .configure(collections::routes)
                        .default_service(web::to(not_found)),
                ),
        )
        .service(
            web::resource("/cometd/{version}")
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route(web::post().to(cometd::endpoint)),
        )
        .configure(control::routes);
}

/// Every REST call needs a live session; an unknown API version is a 404 like any unknown resource.
async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let checked = match req.app_data::<web::Data<SandboxState>>() {
        Some(state) => state.salesforce.sessions.require(req.request()),
        None => Err(SalesforceError::invalid_session()),
    };
    let checked = checked.and_then(|()| {
        if req.match_info().get("version").is_some_and(is_api_version) {
            Ok(())
        } else {
            Err(SalesforceError::not_found())
        }
    });
    match checked {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
        Err(error) => Ok(req.into_response(error_response(&error))),
    }
}

/// `v60.0`, `v58.0`, …
fn is_api_version(text: &str) -> bool {
    let Some((major, minor)) = text.strip_prefix('v').and_then(|v| v.split_once('.')) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

fn api_version(req: &HttpRequest) -> String {
    req.match_info()
        .get("version")
        .unwrap_or("v60.0")
        .to_owned()
}

async fn versions(state: web::Data<SandboxState>) -> HttpResponse {
    let configured = &state.config.salesforce.api_version;
    let number = configured.trim_start_matches('v');
    HttpResponse::Ok().json(json!([{
        "label": "Sandbox",
        "url": format!("/services/data/v{number}"),
        "version": number,
    }]))
}

async fn not_found() -> HttpResponse {
    error_response(&SalesforceError::not_found())
}

fn error_response(error: &SalesforceError) -> HttpResponse {
    HttpResponse::build(error.status).json(error.body())
}

fn parse_json(body: &[u8]) -> Result<Value, SalesforceError> {
    serde_json::from_slice(body).map_err(|e| {
        SalesforceError::json_parser(format!(
            "Unexpected character in the request body at [line:{}, column:{}]",
            e.line(),
            e.column()
        ))
    })
}

/// Performs one REST operation on the store and answers it.
fn respond(req: &HttpRequest, state: &SandboxState, operation: Operation<'_>) -> HttpResponse {
    let version = api_version(req);
    let salesforce = &state.salesforce;
    let context = Context {
        version: &version,
        page_size: state.config.query_page_size.max(1),
        cursors: &salesforce.cursors,
    };
    match salesforce.write(|store| operations::perform(&context, store, operation)) {
        Ok(reply) => reply_response(reply),
        Err(error) => error_response(&error),
    }
}

fn reply_response(reply: Reply) -> HttpResponse {
    let mut response = HttpResponse::build(reply.status);
    match reply.body {
        Some(body) => response.json(body),
        None => response.finish(),
    }
}
