//! The in-process provider sandbox and the one set of helpers every test drives it with: faults and the
//! request log through its in-process state, everything system-specific through its control API
//! (`/__sandbox/…`), which only this module spells out.

use actix_web::web;
use concierge::config::Settings;
use concierge_sandbox::{Fault, RecordedRequest, SandboxState, System};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{config_dir, test_settings};

/// An in-process provider sandbox on a random port.
#[derive(Clone)]
pub struct TestSandbox {
    pub url: String,
    pub state: web::Data<SandboxState>,
    client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl TestSandbox {
    /// Points every provider of `settings` at this sandbox.
    pub fn configure(&self, settings: &mut Settings) {
        point_at(&self.url, settings);
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Back to the seeded demo data, no faults, an empty request log.
    pub fn reset(&self) {
        self.state.reset();
    }

    // Faults.

    /// Adds a fault for `system`, written as the control API takes it: `json!({ "status": 503, "times": 1 })`.
    pub fn inject_fault(&self, system: System, fault: Value) {
        let fault: Fault = serde_json::from_value(fault.clone())
            .unwrap_or_else(|e| panic!("{} fault {fault}: {e}", system.as_str()));
        self.state.faults.add(system, fault);
    }

    /// Removes every fault of `system`.
    pub fn clear_faults(&self, system: System) {
        self.state.faults.clear(Some(system));
    }

    // The request log.

    /// The requests `system` received, oldest first.
    pub fn requests(&self, system: System) -> Vec<RecordedRequest> {
        self.state.log.list(Some(system))
    }

    /// The `operation` (path, query and, for WHMCS, the action) of every request `system` received.
    pub fn operations(&self, system: System) -> Vec<String> {
        self.requests(system)
            .into_iter()
            .map(|request| request.operation)
            .collect()
    }

    /// The path of every request `system` received.
    pub fn paths(&self, system: System) -> Vec<String> {
        self.requests(system)
            .into_iter()
            .map(|request| request.path)
            .collect()
    }

    /// How many requests to `system` satisfy `matches`.
    pub fn count(&self, system: System, matches: impl Fn(&RecordedRequest) -> bool) -> usize {
        self.requests(system)
            .iter()
            .filter(|request| matches(request))
            .count()
    }

    /// How many requests to `system` had an operation containing `fragment`.
    pub fn count_operation(&self, system: System, fragment: &str) -> usize {
        self.count(system, |request| request.operation.contains(fragment))
    }

    /// How many requests to `system` had a path containing `fragment`.
    pub fn count_path(&self, system: System, fragment: &str) -> usize {
        self.count(system, |request| request.path.contains(fragment))
    }

    /// How many WHMCS API calls of `action` (`AddOrder`, `CapturePayment`, …) the sandbox saw.
    pub fn whmcs_calls(&self, action: &str) -> usize {
        let operation = format!("/includes/api.php {action}");
        self.count(System::Whmcs, |request| request.operation == operation)
    }

    /// SOQL queries (first pages and next pages) Salesforce received.
    pub fn salesforce_queries(&self) -> usize {
        self.count_operation(System::Salesforce, "/query")
    }

    /// Forgets every recorded request.
    pub fn clear_requests(&self) {
        self.state.log.clear();
    }

    // The control API.

    /// A request to the control API: `control(Method::DELETE, "messaging/messages")` for
    /// `DELETE /__sandbox/messaging/messages`.
    pub fn control(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/__sandbox/{path}", self.url))
    }

    /// Sends a control request, failing the test when the sandbox cannot be reached.
    async fn send(&self, request: RequestBuilder) -> Response {
        let request = request.build().expect("control request");
        let what = format!("{} {}", request.method(), request.url().path());
        self.client
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Sends a control request and reads its JSON answer.
    async fn read<T: DeserializeOwned>(&self, request: RequestBuilder) -> T {
        let response = self.send(request).await;
        let what = response.url().path().to_owned();
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what} as JSON: {e}"))
    }

    /// The messages "sent" to `to`, oldest first.
    pub async fn messages_to(&self, to: &str) -> Vec<Value> {
        self.read(
            self.control(Method::GET, "messaging/messages")
                .query(&[("to", to)]),
        )
        .await
    }

    /// `DELETE /__sandbox/messaging/messages`: forgets every message and idempotency key.
    pub async fn clear_messages(&self) -> Response {
        self.send(self.control(Method::DELETE, "messaging/messages"))
            .await
    }

    /// Every record of `object` in the Salesforce sandbox, rendered as the API renders it.
    pub async fn salesforce_records(&self, object: &str) -> Vec<Value> {
        let path = format!("salesforce/records/{object}");
        self.read(self.control(Method::GET, &path)).await
    }

    /// The `object` record `id`, failing the test when there is none.
    pub async fn salesforce_record(&self, object: &str, id: &str) -> Value {
        self.salesforce_records(object)
            .await
            .into_iter()
            .find(|record| record["Id"] == id)
            .unwrap_or_else(|| panic!("{object} {id} in the sandbox"))
    }

    /// What the approval Flow does: activates the order and publishes `OrderProvisionRequested__e`.
    pub async fn approve_order(&self, salesforce_id: &str) {
        let path = format!("salesforce/orders/{salesforce_id}/approve");
        let response = self.send(self.control(Method::POST, &path)).await;
        let status = response.status();
        assert_eq!(
            status,
            200,
            "approve {salesforce_id}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Publishes the platform event `name` with `payload`.
    pub async fn publish_event(&self, name: &str, payload: Value) -> Response {
        let path = format!("salesforce/events/{name}");
        self.send(self.control(Method::POST, &path).json(&payload))
            .await
    }

    /// Expires every Salesforce session.
    pub async fn expire_salesforce_tokens(&self) -> Response {
        self.send(self.control(Method::POST, "salesforce/expire-tokens"))
            .await
    }

    /// Registers the public key the JWT bearer flow's assertions are checked with.
    pub async fn register_jwt_key(&self, public_key_pem: &str) -> Response {
        let key = json!({ "public_key_pem": public_key_pem });
        self.send(self.control(Method::PUT, "salesforce/jwt-key").json(&key))
            .await
    }

    /// Every WHMCS order, newest last, in the sandbox's own shape.
    pub async fn whmcs_orders(&self) -> Vec<Value> {
        let dump: Value = self.read(self.control(Method::GET, "whmcs/orders")).await;
        dump["orders"].as_array().expect("orders").clone()
    }

    /// Every Freebit account, in the sandbox's own shape.
    pub async fn freebit_accounts(&self) -> Vec<Value> {
        self.read(self.control(Method::GET, "freebit/accounts"))
            .await
    }

    /// Expires the Freebit auth key, so the next call must authenticate again.
    pub async fn expire_freebit_auth(&self) {
        let response = self
            .send(self.control(Method::POST, "freebit/expire-auth"))
            .await;
        assert_eq!(response.status(), 204, "expire auth");
    }
}

/// Points every provider of `settings` at the sandbox listening on `url`.
pub fn point_at(url: &str, settings: &mut Settings) {
    settings.providers.salesforce.login_url = url.to_owned();
    settings.providers.salesforce.audience = url.to_owned();
    settings.providers.whmcs.base_url = url.to_owned();
    settings.providers.freebit.base_url = url.to_owned();
    settings.providers.messaging.base_url = format!("{url}/messaging");
    settings.providers.facebook.base_url = format!("{url}/facebook");
    settings.providers.instagram.base_url = format!("{url}/instagram");
    settings.providers.x.base_url = format!("{url}/x");
}

/// The sandbox's configuration for the test environment (`config/test.toml`'s `[sandbox]` over the defaults):
/// the credentials it accepts are the ones the clients are configured with.
pub fn sandbox_config() -> concierge_sandbox::Config {
    concierge_sandbox::Config::from_files(&config_dir(), "test").expect("sandbox test config")
}

/// Starts a sandbox with the test configuration.
pub async fn spawn_sandbox() -> TestSandbox {
    spawn_sandbox_with(|_| {}).await
}

/// Starts a sandbox with the test configuration changed by `configure`.
pub async fn spawn_sandbox_with(
    configure: impl FnOnce(&mut concierge_sandbox::Config),
) -> TestSandbox {
    let mut config = sandbox_config();
    configure(&mut config);
    let sandbox = concierge_sandbox::Sandbox::build(config, "127.0.0.1:0").expect("sandbox");
    let url = format!("http://127.0.0.1:{}", sandbox.port());
    let state = sandbox.state();
    let handle = sandbox.handle();
    tokio::spawn(sandbox.run_until_stopped());
    TestSandbox {
        url,
        state,
        client: reqwest::Client::new(),
        handle,
    }
}

/// Test settings whose providers all point at `sandbox`.
pub fn settings_for_sandbox(sandbox: &TestSandbox) -> Settings {
    let mut settings = test_settings("unused");
    sandbox.configure(&mut settings);
    settings
}
