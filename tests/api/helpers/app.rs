//! The application under test: `spawn_app()`, `spawn_sandboxed_app()` and requests as a customer.

use actix_web::web;
use concierge::cli::{build_runner, build_state};
use concierge::config::Settings;
use concierge::integrations::salesforce::SalesforceClient;
use concierge::integrations::whmcs::WhmcsClient;
use concierge::startup::Application;
use concierge::state::AppState;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{TestSandbox, fresh_database, point_at, spawn_sandbox, test_settings};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub state: AppState,
    /// Provider clients configured like the app's (built from `state.settings`), for tests that read or
    /// change a provider's records directly, as someone working in WHMCS or Salesforce would.
    pub whmcs: WhmcsClient,
    pub salesforce: SalesforceClient,
    pub sandbox: Option<TestSandbox>,
    /// `http://127.0.0.1:{port}` of the metrics listener, when the test turned it on (`server.metrics_listen`).
    pub metrics_address: Option<String>,
    shutdown: watch::Sender<bool>,
    server: actix_web::dev::ServerHandle,
    runner: Option<JoinHandle<anyhow::Result<()>>>,
}

pub struct TestOptions {
    pub jobs: bool,
    /// Start a provider sandbox and point every provider client at it.
    pub sandbox: bool,
    /// Share an existing database (several replicas of one deployment) instead of a fresh one.
    pub database: Option<String>,
    pub configure: Box<dyn FnOnce(&mut Settings)>,
    pub routes: Box<dyn Fn(&mut web::ServiceConfig) + Send + Sync>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            jobs: false,
            sandbox: false,
            database: None,
            configure: Box::new(|_| {}),
            routes: Box::new(|_| {}),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    let database = match options.database {
        Some(database) => database,
        None => fresh_database().await,
    };
    let mut settings = test_settings(&database);
    let sandbox = if options.sandbox {
        Some(spawn_sandbox().await)
    } else {
        None
    };
    if let Some(sandbox) = &sandbox {
        sandbox.configure(&mut settings);
    }
    (options.configure)(&mut settings);
    // The test process's subscriber never exports (the first call wins); the trace tests run the binary.
    let _ = concierge::telemetry::init(&settings.telemetry).expect("telemetry");

    let state = build_state(settings, options.jobs).expect("app state");
    let routes = options.routes;
    let app =
        Application::build_with_routes(state.clone(), move |cfg| routes(cfg)).expect("build app");
    let port = app.port();
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());

    let (shutdown, shutdown_rx) = watch::channel(false);
    let runner = options.jobs.then(|| {
        let runner = build_runner(&state).expect("job runner");
        tokio::spawn(runner.run(shutdown_rx))
    });

    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db: state.db.clone(),
        whmcs: WhmcsClient::new(&state.settings.providers).expect("whmcs client"),
        salesforce: SalesforceClient::new(&state.settings.providers).expect("salesforce client"),
        state,
        sandbox,
        metrics_address,
        shutdown,
        server,
        runner,
    }
}

/// What a sandboxed app varies by: `Sandboxed::new().jobs().without_retries()`.
#[derive(Default)]
pub struct Sandboxed {
    options: TestOptions,
    shared: Option<TestSandbox>,
}

impl Sandboxed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the job runner (and the event subscriber).
    pub fn jobs(mut self) -> Self {
        self.options.jobs = true;
        self
    }

    /// Provider calls are not retried (`max_retries = 0`), so fault tests stay short.
    pub fn without_retries(self) -> Self {
        self.configure(|settings| settings.providers.max_retries = 0)
    }

    /// Changes the settings after the providers are pointed at the sandbox; calls add up, in order.
    pub fn configure(mut self, then: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.options.configure = and_then(self.options.configure, then);
        self
    }

    /// Uses `sandbox` instead of starting one (several replicas of one deployment).
    pub fn sharing(mut self, sandbox: &TestSandbox) -> Self {
        self.shared = Some(sandbox.clone());
        self
    }

    /// Shares an existing database instead of a fresh one.
    pub fn database(mut self, database: &str) -> Self {
        self.options.database = Some(database.to_owned());
        self
    }
}

type Configure = Box<dyn FnOnce(&mut Settings)>;

fn and_then(first: Configure, then: impl FnOnce(&mut Settings) + 'static) -> Configure {
    Box::new(move |settings| {
        first(settings);
        then(settings);
    })
}

/// An app whose providers all point at its own in-process sandbox (`app.sandbox()`).
pub async fn spawn_sandboxed_app() -> TestApp {
    spawn_sandboxed_app_with(Sandboxed::new()).await
}

pub async fn spawn_sandboxed_app_with(sandboxed: Sandboxed) -> TestApp {
    let Sandboxed {
        mut options,
        shared,
    } = sandboxed;
    let Some(shared) = shared else {
        options.sandbox = true;
        return spawn_app_with(options).await;
    };
    let url = shared.url.clone();
    let configure = options.configure;
    options.configure = and_then(
        Box::new(move |settings| point_at(&url, settings)),
        configure,
    );
    let mut app = spawn_app_with(options).await;
    app.sandbox = Some(shared);
    app
}

impl TestApp {
    /// The app's provider sandbox.
    pub fn sandbox(&self) -> &TestSandbox {
        self.sandbox
            .as_ref()
            .expect("this app has no sandbox: start it with spawn_sandboxed_app()")
    }

    /// Whether this app runs the job runner (`Sandboxed::jobs()`).
    pub fn runs_jobs(&self) -> bool {
        self.runner.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Stops the job runner (letting running jobs finish) and the HTTP server.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(runner) = self.runner.take() {
            runner.await.expect("runner task").expect("runner");
        }
        self.server.stop(true).await;
    }
}

/// Registers and signs in the sandbox's demo customer (`demo@concierge.test`), linked to the sandbox's demo
/// WHMCS client and Salesforce Account/Contact, and returns the login response body. Needs a sandboxed app.
pub async fn demo_customer(app: &TestApp) -> serde_json::Value {
    customer_linked_to(app, 0).await
}

/// The same for demo customer `index` of `concierge_sandbox::demo::CUSTOMERS` (0, 1 or 2): registers, verifies
/// the email through the emailed link, and records the links to the demo records (an app without jobs never
/// runs the linking job; with jobs, the job finds the same records by the verified email).
pub async fn customer_linked_to(app: &TestApp, index: usize) -> serde_json::Value {
    let demo = &concierge_sandbox::demo::CUSTOMERS[index];
    let password = "a-long-and-unusual-passphrase";
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &serde_json::json!({ "email": demo.email, "password": password,
                                   "first_name": demo.first_name, "last_name": demo.last_name }),
        )
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 202, "register {}", demo.email);
    let login = super::sign_in_verified(app, demo.email, password).await;
    let user_id: uuid::Uuid = login["user"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("user id");
    let mut conn = app.db.acquire().await.expect("connection");
    concierge::customers::record_links(
        &mut conn,
        &concierge::customers::CustomerLinks {
            user_id,
            whmcs_client_id: i64::from(demo.whmcs_client_id),
            salesforce_account_id: demo.account_id.to_owned(),
            salesforce_contact_id: demo.contact_id.to_owned(),
        },
    )
    .await
    .expect("link");
    login
}

/// The access token of a login response body.
pub fn token_of(login: &serde_json::Value) -> String {
    login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// `GET path` with a bearer token.
pub async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// `GET path` with a bearer token, asserting 200 and reading the JSON body.
pub async fn get_json_as(app: &TestApp, token: &str, path: &str) -> serde_json::Value {
    let response = get_as(app, token, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("json")
}
