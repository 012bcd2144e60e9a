//! `spawn_app()` starts the real application on a random port against a fresh database (cloned from a
//! migrated template) and the real Redis, with its own key prefix.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use actix_web::web;
use concierge::cli::{build_runner, build_state};
use concierge::config::{Environment, Settings};
use concierge::startup::Application;
use concierge::state::AppState;
use figment::Figment;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55439/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:56379".into())
}

/// A Redis URL where nothing listens: connections are refused at once.
pub const DEAD_REDIS_URL: &str = "redis://127.0.0.1:1";
/// A PostgreSQL URL where nothing listens.
pub const DEAD_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:1/nothing";

pub fn database_url(name: &str) -> String {
    let admin = admin_database_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base)
        .to_owned();
    format!("{base}/{name}")
}

pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The test environment's settings pointing at the given database, the real Redis and a fresh key prefix.
pub fn test_settings(database: &str) -> Settings {
    let figment: Figment = Settings::figment(&config_dir(), Environment::Test)
        .expect("config dir")
        .merge(("database.url", database_url(database)))
        .merge(("redis.url", redis_url()))
        .merge((
            "redis.key_prefix",
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        ));
    Settings::extract(figment).expect("test settings")
}

/// Creates a database from the migrated template and returns its name.
pub async fn fresh_database() -> String {
    let template = template_database().await;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_database_url())
        .await
        .expect("connect as admin");
    admin
        .execute(sqlx::raw_sql(AssertSqlSafe(format!(
            r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#
        ))))
        .await
        .expect("create test database");
    name
}

/// An empty database (no migrations), for tests of migrating itself.
pub async fn empty_database() -> String {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_database_url())
        .await
        .expect("connect as admin");
    admin
        .execute(sqlx::raw_sql(AssertSqlSafe(format!(
            r#"CREATE DATABASE "{name}""#
        ))))
        .await
        .expect("create database");
    name
}

/// The template is named after a hash of every migration (ours and the job queue's), so a changed migration
/// gets a new template. Creation is serialised across test processes with an advisory lock.
async fn template_database() -> String {
    let mut hasher = DefaultHasher::new();
    for migration in concierge::db::MIGRATOR.iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    for migration in apalis_postgres::PostgresStorage::<()>::migrations().iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    let name = format!("concierge_template_{:016x}", hasher.finish());

    let mut admin = PgConnection::connect(&admin_database_url())
        .await
        .expect("connect as admin");
    admin
        .execute("SELECT pg_advisory_lock(4242424242)")
        .await
        .expect("template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("look up template");
    if !exists {
        let building = format!("{name}_building");
        admin
            .execute(sqlx::raw_sql(AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{building}""#
            ))))
            .await
            .expect("drop");
        admin
            .execute(sqlx::raw_sql(AssertSqlSafe(format!(
                r#"CREATE DATABASE "{building}""#
            ))))
            .await
            .expect("create template");
        let pool = PgPool::connect(&database_url(&building))
            .await
            .expect("connect to template");
        concierge::db::migrate(&pool)
            .await
            .expect("migrate template");
        pool.close().await;
        admin
            .execute(sqlx::raw_sql(AssertSqlSafe(format!(
                r#"ALTER DATABASE "{building}" RENAME TO "{name}""#
            ))))
            .await
            .expect("publish template");
    }
    admin
        .execute("SELECT pg_advisory_unlock(4242424242)")
        .await
        .expect("template unlock");
    name
}

/// An in-process provider sandbox on a random port.
pub struct TestSandbox {
    pub url: String,
    pub state: web::Data<concierge_sandbox::SandboxState>,
    handle: actix_web::dev::ServerHandle,
}

impl TestSandbox {
    /// Points every provider of `settings` at this sandbox.
    pub fn configure(&self, settings: &mut Settings) {
        settings.providers.salesforce.login_url = self.url.clone();
        settings.providers.salesforce.audience = self.url.clone();
        settings.providers.whmcs.base_url = self.url.clone();
        settings.providers.freebit.base_url = self.url.clone();
        settings.providers.messaging.base_url = format!("{}/messaging", self.url);
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
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
    TestSandbox { url, state, handle }
}

/// Test settings whose providers all point at `sandbox`.
pub fn settings_for_sandbox(sandbox: &TestSandbox) -> Settings {
    let mut settings = test_settings("unused");
    sandbox.configure(&mut settings);
    settings
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub state: AppState,
    pub sandbox: Option<TestSandbox>,
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
    concierge::telemetry::init(&settings.telemetry);

    let state = build_state(settings, options.jobs).expect("app state");
    let routes = options.routes;
    let app =
        Application::build_with_routes(state.clone(), move |cfg| routes(cfg)).expect("build app");
    let port = app.port();
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
        state,
        sandbox,
        shutdown,
        server,
        runner,
    }
}

impl TestApp {
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

/// Polls `check` until it returns `Some`, or panics with `what` after `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Reads a JSON body, asserting the content type says problem+json.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "problem content type"
    );
    response.json().await.expect("problem body")
}

/// Registers and signs in the sandbox's demo customer (`demo@concierge.test`), linked to the sandbox's demo
/// WHMCS client and Salesforce Account/Contact, and returns the login response body. Needs `sandbox: true`.
pub async fn demo_customer(app: &TestApp) -> serde_json::Value {
    customer_linked_to(app, 0).await
}

/// The same for demo customer `index` of `concierge_sandbox::demo::CUSTOMERS` (0, 1 or 2).
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
    assert_eq!(registered.status(), 201, "register {}", demo.email);
    let user: serde_json::Value = registered.json().await.expect("user");
    let user_id: uuid::Uuid = user["id"]
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
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": demo.email, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    login.json().await.expect("login body")
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
