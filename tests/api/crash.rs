//! A real crash: `concierge worker` as a child process, killed with SIGKILL while a step is in flight, then a
//! second worker that takes the job over once the first one's lease (its heartbeats) has lapsed and finishes
//! the work exactly once. The sandbox runs in the test process, so it outlives both workers.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{
    Sandboxed, System, TestApp, config_dir, demo_customer, eventually, spawn_sandboxed_app_with,
    token_of,
};

/// A `concierge worker` child process, killed (SIGKILL) and reaped when dropped, so a failing test never
/// leaves one running.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    /// Starts a worker against the app's database and Redis and the app's sandbox, with a lease short
    /// enough for a test (a heartbeat a second, dead after two missed) and provider calls that wait long
    /// enough for a hanging one to still be in flight when it is killed.
    fn start(app: &TestApp, name: &str) -> Self {
        let settings = &app.state.settings;
        let sandbox = &app.sandbox().url;
        let log = std::env::temp_dir().join(format!(
            "concierge-{name}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let output = File::create(&log).expect("worker log");
        let errors = output.try_clone().expect("worker log");
        let child = Command::new(env!("CARGO_BIN_EXE_concierge"))
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONCIERGE_CONFIG_DIR", config_dir())
            .env("CONCIERGE_ENV", "test")
            .env("RUST_LOG", "info")
            .env(
                "CONCIERGE__DATABASE__URL",
                settings.database.url.expose_secret(),
            )
            .env("CONCIERGE__REDIS__URL", settings.redis.url.expose_secret())
            .env("CONCIERGE__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
            .env("CONCIERGE__JOBS__HEARTBEAT_INTERVAL_MS", "1000")
            .env("CONCIERGE__JOBS__MISSED_HEARTBEATS", "2")
            .env("CONCIERGE__JOBS__MAX_ATTEMPTS", "10")
            .env("CONCIERGE__PROVIDERS__TIMEOUT_MS", "60000")
            .env("CONCIERGE__PROVIDERS__SALESFORCE__LOGIN_URL", sandbox)
            .env("CONCIERGE__PROVIDERS__SALESFORCE__AUDIENCE", sandbox)
            .env("CONCIERGE__PROVIDERS__WHMCS__BASE_URL", sandbox)
            .env("CONCIERGE__PROVIDERS__FREEBIT__BASE_URL", sandbox)
            .env(
                "CONCIERGE__PROVIDERS__MESSAGING__BASE_URL",
                format!("{sandbox}/messaging"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(errors))
            .spawn()
            .expect("concierge worker");
        Self { child, log }
    }

    /// SIGKILL: no shutdown, no cleanup, the job left `Running` under this worker's lease.
    fn crash(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reaped");
        assert!(!status.success(), "killed, not exited: {status:?}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn order_status_of(app: &TestApp, order_id: &str) -> String {
    let (status,): (String,) = sqlx::query_as("SELECT status FROM orders WHERE id = $1::uuid")
        .bind(order_id)
        .fetch_one(&app.db)
        .await
        .expect("order");
    status
}

#[tokio::test]
async fn a_worker_killed_while_addorder_is_in_flight_is_finished_by_another_exactly_once() {
    // The app under test only takes the order; the workers provision it.
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = token_of(&demo_customer(&app).await);
    let eid = "7".repeat(32);
    let body = json!({
        "items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}],
        "sim": {"type": "esim", "eid": eid}
    });
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "crash-order")
        .json(&body)
        .send()
        .await
        .expect("order");
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.expect("json");
    let id = order["id"].as_str().expect("id").to_owned();
    let (salesforce_id,): (String,) =
        sqlx::query_as("SELECT salesforce_order_id FROM orders WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("order row");
    // WHMCS creates the order, then never answers.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "hang": true, "phase": "after", "operation": "AddOrder", "times": 1 }),
    );
    app.sandbox().approve_order(&salesforce_id).await;

    let first = Worker::start(&app, "first");
    let whmcs_orders = || async {
        app.sandbox()
            .whmcs_orders()
            .await
            .into_iter()
            .filter(|o| o["notes"].as_str().unwrap_or("").contains(&salesforce_id))
            .count()
    };
    eventually(60, "AddOrder in flight", || async {
        (whmcs_orders().await == 1).then_some(())
    })
    .await;
    assert_eq!(
        order_status_of(&app, &id).await,
        "provisioning",
        "{}",
        first.log()
    );
    first.crash();

    let second = Worker::start(&app, "second");
    eventually(60, "the second worker to finish", || async {
        (order_status_of(&app, &id).await == "active").then_some(())
    })
    .await;

    assert_eq!(whmcs_orders().await, 1, "{}", second.log());
    assert_eq!(app.sandbox().whmcs_calls("AddOrder"), 1);
    let lines = app
        .sandbox()
        .freebit_accounts()
        .await
        .into_iter()
        .filter(|account| account["eid"] == eid)
        .count();
    assert_eq!(lines, 1);
    let order: Value = app
        .client
        .get(app.url(&format!("/api/v1/orders/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("order")
        .json()
        .await
        .expect("json");
    assert_eq!(order["status"], "active");
    drop(second);
    app.stop().await;
}

#[tokio::test]
async fn a_worker_killed_between_the_charge_and_freebit_is_finished_by_another_exactly_once() {
    // Requests give up waiting quickly; the same key is repeated for the outcome.
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .without_retries()
            .configure(|settings| settings.subscriptions.top_up_wait_ms = 500),
    )
    .await;
    let token = token_of(&demo_customer(&app).await);
    // Freebit adds the data, then never answers.
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "hang": true, "phase": "after", "operation": "addSpec", "times": 1 }),
    );
    let top_up = || async {
        app.client
            .post(app.url("/api/v1/subscriptions/501/sim/top-ups"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "crash-top-up")
            .json(&json!({ "quota_mb": 2048 }))
            .send()
            .await
            .expect("top-up")
    };

    let first = Worker::start(&app, "first");
    let pending = top_up().await;
    assert_eq!(pending.status(), 503);
    let body: Value = pending.json().await.expect("json");
    assert_eq!(body["code"], "change-in-progress");
    eventually(60, "the top-up to reach Freebit", || async {
        (app.sandbox().count_path(System::Freebit, "addSpec") == 1).then_some(())
    })
    .await;
    assert_eq!(
        app.sandbox().whmcs_calls("CapturePayment"),
        1,
        "{}",
        first.log()
    );
    first.crash();

    let second = Worker::start(&app, "second");
    let done = eventually(60, "the second worker to finish", || async {
        let response = top_up().await;
        (response.status() == 200).then_some(response)
    })
    .await;

    let result: Value = done.json().await.expect("json");
    assert_eq!(
        result["charged"],
        json!({ "amount": "1000", "currency": "JPY" })
    );
    assert_eq!(
        app.sandbox().whmcs_calls("CreateInvoice"),
        1,
        "{}",
        second.log()
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    let sim: Value = app
        .client
        .get(app.url("/api/v1/subscriptions/501/sim"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    assert_eq!(sim["data"]["added_mb"], 2048);
    drop(second);
    app.stop().await;
}
