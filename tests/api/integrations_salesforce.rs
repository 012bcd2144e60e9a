//! The salesforce client against wiremock: auth, errors, queries, sObjects, composite, platform events and
//! the replay-id store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod composite;
mod errors;
mod events;
mod logs;
mod query;
mod replay;
mod sobjects;
mod soql;

use concierge::config::ProviderSettings;
use concierge::integrations::salesforce::SalesforceClient;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers;

pub const DATA: &str = "/services/data/v60.0";
pub const TOKEN_PATH: &str = "/services/oauth2/token";

/// Test provider settings whose Salesforce login (and, through the token, instance) is `server`.
pub fn settings_for(server: &MockServer) -> ProviderSettings {
    let mut providers = helpers::test_settings("unused").providers;
    providers.salesforce.login_url = server.uri();
    providers.salesforce.audience = server.uri();
    providers
}

pub fn client_for(server: &MockServer) -> SalesforceClient {
    SalesforceClient::new(&settings_for(server)).expect("salesforce client")
}

/// The client-credentials answer, naming `instance_url` as the base of every data call.
pub fn token_body(access_token: &str, instance_url: &str) -> Value {
    json!({
        "access_token": access_token,
        "signature": "c2lnbmF0dXJl",
        "scope": "api",
        "instance_url": instance_url,
        "id": "https://login.salesforce.com/id/00D000000000001/005000000000001",
        "token_type": "Bearer",
        "issued_at": "1763721100000"
    })
}

pub async fn mount_token(server: &MockServer, access_token: &str) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(access_token, &server.uri())),
        )
        .named("token")
        .mount(server)
        .await;
}

pub fn error_array(code: &str, message: &str, fields: &[&str]) -> Value {
    json!([{"message": message, "errorCode": code, "fields": fields}])
}

pub fn order_id() -> &'static str {
    "801RO00000A1b2cYAB"
}

/// How many requests `server` received for `request_path`.
pub async fn hits(server: &MockServer, request_path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == request_path)
        .count()
}
