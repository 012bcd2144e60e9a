//! `/__sandbox/salesforce/…`: what an operator or a test does outside the API — approve an order (the
//! approval Flow), publish any platform event, dump records, expire every session, register the JWT key.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::SalesforceError;
use super::events::channel_of;
use super::render::render;
use super::schema::{self, EVENT_KEY_PREFIX};
use super::store::{PendingEvent, id_of};
use super::{dml, error_response, lock, parse_json};
use crate::SandboxState;

const PROVISION_EVENT: &str = "OrderProvisionRequested__e";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/__sandbox/salesforce")
            .route("/orders/{id}/approve", web::post().to(approve_order))
            .route("/events/{name}", web::post().to(publish_event))
            .route("/events/{name}", web::get().to(retained_events))
            .route("/records/{object}", web::get().to(records))
            .route("/expire-tokens", web::post().to(expire_tokens))
            .route("/jwt-key", web::put().to(register_jwt_key))
            .route("/jwt-key", web::delete().to(forget_jwt_key)),
    );
}

fn version(state: &SandboxState) -> String {
    let configured = &state.config.salesforce.api_version;
    format!("v{}", configured.trim_start_matches('v'))
}

/// What the approval Flow does: the order is activated with `Activation_Status__c = Activating`, then
/// `OrderProvisionRequested__e` is published with its id.
async fn approve_order(id: web::Path<String>, state: web::Data<SandboxState>) -> HttpResponse {
    let salesforce = &state.salesforce;
    let version = version(&state);
    let approved = salesforce.write(|store| {
        let orders = schema::object("Order").ok_or_else(SalesforceError::not_found)?;
        let order = store
            .find(orders, &id)
            .ok_or_else(SalesforceError::not_found)?;
        let order_id = id_of(order).to_owned();
        if order.get("Status").and_then(Value::as_str) == Some("Activated") {
            return Err(SalesforceError::new(
                StatusCode::CONFLICT,
                "ALREADY_ACTIVATED",
                "The order is already activated",
            ));
        }
        dml::update(
            store,
            orders.name,
            &order_id,
            &json!({ "Status": "Activated", "Activation_Status__c": "Activating" }),
        )?;
        let rendered = store
            .find(orders, &order_id)
            .map(|order| render(&version, orders, order, None))
            .unwrap_or(Value::Null);
        Ok((order_id, rendered, store.next_id(EVENT_KEY_PREFIX)))
    });
    let (order_id, order, event_id) = match approved {
        Ok(approved) => approved,
        Err(error) => return error_response(&error),
    };
    let mut payload = serde_json::Map::new();
    payload.insert("OrderId__c".into(), order_id.into());
    let event = publish(&state, event_id, PROVISION_EVENT, payload);
    HttpResponse::Ok().json(json!({ "order": order, "event": event }))
}

fn publish(
    state: &SandboxState,
    event_id: String,
    name: &str,
    payload: serde_json::Map<String, Value>,
) -> Value {
    let uuid = uuid::Uuid::new_v4().to_string();
    let replay_id = state.salesforce.events.publish(PendingEvent {
        name: name.to_owned(),
        uuid: uuid.clone(),
        payload,
    });
    json!({
        "id": event_id,
        "channel": channel_of(name),
        "replayId": replay_id,
        "EventUuid": uuid,
    })
}

async fn publish_event(
    name: web::Path<String>,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    if !schema::is_platform_event(&name) {
        return error_response(&SalesforceError::not_found());
    }
    let payload = match parse_json(&body) {
        Ok(Value::Object(payload)) => payload,
        Ok(_) => {
            return error_response(&SalesforceError::json_parser(
                "The event payload must be a JSON object",
            ));
        }
        Err(error) => return error_response(&error),
    };
    let event_id = lock(&state.salesforce.store).next_id(EVENT_KEY_PREFIX);
    HttpResponse::Ok().json(publish(&state, event_id, &name, payload))
}

async fn retained_events(name: web::Path<String>, state: web::Data<SandboxState>) -> HttpResponse {
    let events: Vec<Value> = state
        .salesforce
        .events
        .retained(&channel_of(&name))
        .into_iter()
        .map(|event| {
            json!({ "replayId": event.replay_id, "EventUuid": event.uuid, "payload": event.payload })
        })
        .collect();
    HttpResponse::Ok().json(events)
}

async fn records(object: web::Path<String>, state: web::Data<SandboxState>) -> HttpResponse {
    let Some(definition) = schema::object(&object) else {
        return error_response(&SalesforceError::not_found());
    };
    let version = version(&state);
    let store = lock(&state.salesforce.store);
    let records: Vec<Value> = store
        .records(definition)
        .iter()
        .map(|record| render(&version, definition, record, None))
        .collect();
    HttpResponse::Ok().json(records)
}

async fn expire_tokens(state: web::Data<SandboxState>) -> HttpResponse {
    state.salesforce.sessions.expire_all();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct JwtKey {
    public_key_pem: String,
}

async fn register_jwt_key(key: web::Json<JwtKey>, state: web::Data<SandboxState>) -> HttpResponse {
    if DecodingKey::from_rsa_pem(key.public_key_pem.as_bytes()).is_err() {
        return HttpResponse::BadRequest()
            .json(json!({ "error": "public_key_pem is not an RSA public key in PEM" }));
    }
    state
        .salesforce
        .sessions
        .set_jwt_public_key(Some(key.into_inner().public_key_pem));
    HttpResponse::NoContent().finish()
}

async fn forget_jwt_key(state: web::Data<SandboxState>) -> HttpResponse {
    state.salesforce.sessions.set_jwt_public_key(None);
    HttpResponse::NoContent().finish()
}
