//! The Salesforce stand-in of the provider sandbox, over HTTP with a plain client speaking the wire format.

mod auth;
mod collections;
mod composite;
mod control;
mod events;
mod external_ids;
mod query;
mod sobjects;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestSandbox, spawn_sandbox};

/// The sandbox keeps serving for the rest of the test; only its address is needed.
pub fn sandbox_url(sandbox: TestSandbox) -> String {
    sandbox.url
}

pub const API: &str = "/services/data/v60.0";

/// A sandbox and a client holding a fresh access token.
pub struct Org {
    pub url: String,
    pub client: reqwest::Client,
    pub token: String,
}

pub async fn client_credentials_token(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "concierge-sandbox"),
            ("client_secret", "sandbox-client-secret"),
        ])
        .send()
        .await
        .unwrap()
}

/// A sandbox built with the test configuration changed by `configure`; its base URL.
pub async fn spawn_sandbox_with(configure: impl FnOnce(&mut concierge_sandbox::Config)) -> String {
    crate::helpers::spawn_sandbox_with(configure).await.url
}

impl Org {
    pub async fn start() -> Self {
        Self::on(sandbox_url(spawn_sandbox().await)).await
    }

    pub async fn on(url: String) -> Self {
        let client = reqwest::Client::new();
        let token: Value = client_credentials_token(&client, &url)
            .await
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        Self { url, client, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Trades the current token for a new one.
    pub async fn reauthenticate(&mut self) {
        let fresh = Self::on(self.url.clone()).await;
        self.token = fresh.token;
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn query(&self, soql: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(&format!("{API}/query")))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Creates a record, asserting success, and returns its id.
    pub async fn create(&self, object: &str, fields: Value) -> String {
        let (status, body) = self
            .post(&format!("{API}/sobjects/{object}/"), fields)
            .await;
        assert_eq!(status, StatusCode::CREATED, "create {object}: {body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn record(&self, object: &str, id: &str) -> Value {
        let (status, body) = self.get(&format!("{API}/sobjects/{object}/{id}")).await;
        assert_eq!(status, StatusCode::OK, "get {object} {id}: {body}");
        body
    }

    /// The id of the Standard Price Book entry of a demo product.
    pub async fn pricebook_entry(&self, sku: &str) -> String {
        let (_, body) = self
            .query(&format!(
                "SELECT Id FROM PricebookEntry WHERE Product2.StockKeepingUnit = '{sku}'"
            ))
            .await;
        body["records"][0]["Id"].as_str().unwrap().to_owned()
    }

    /// A Draft order of the demo customer on the Standard Price Book, with one item of `sku`.
    pub async fn draft_order_with(&self, sku: &str) -> String {
        let order = self
            .create(
                "Order",
                json!({
                    "AccountId": DEMO_ACCOUNT,
                    "EffectiveDate": "2026-11-21",
                    "Status": "Draft",
                    "Pricebook2Id": STANDARD_PRICEBOOK,
                }),
            )
            .await;
        let entry = self.pricebook_entry(sku).await;
        self.create(
            "OrderItem",
            json!({ "OrderId": order, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 2980 }),
        )
        .await;
        order
    }
}

pub const DEMO_ACCOUNT: &str = "001SBDEMO000001AAA";
pub const DEMO_CONTACT: &str = "003SBDEMO000001AAA";
pub const STANDARD_PRICEBOOK: &str = "01sSB0000000001AAA";

/// The first error of a Salesforce error array.
pub fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or_default()
}
