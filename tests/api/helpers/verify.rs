//! Proving an account's email the way a customer does: read the link the messaging service "sent" and post
//! its token to the API while signed in. Apps without a job runner get one for auth's queues only, for as
//! long as it takes the email to go out, on a pool of its own: stopping a runner may leave a connection
//! mid-transaction, and that connection must not be handed to the test afterwards.

use concierge::jobs::{JobsStatus, Runner};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

use super::{TestApp, eventually};

/// The token of the newest verification link sent to `email`. Needs a sandboxed app.
pub async fn verification_token_sent_to(app: &TestApp, email: &str) -> String {
    let body = with_auth_jobs(app, || async {
        eventually(20, "the verification email", || async {
            app.sandbox()
                .messages_to(email)
                .await
                .iter()
                .rev()
                .find(|m| m["template"] == "email_verification")
                .and_then(|m| m["body"].as_str().map(str::to_owned))
        })
        .await
    })
    .await;
    token_in(&body)
}

/// The `?token=` of the link in a message body.
pub fn token_in(body: &str) -> String {
    body.split("?token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token")
        .to_owned()
}

/// Waits for every job of auth's queues to run, with a runner of its own when the app has none.
pub async fn with_auth_jobs<T, F, Fut>(app: &TestApp, work: F) -> T
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    if app.runs_jobs() {
        return work().await;
    }
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(app.state.settings.database.url.expose_secret())
        .await
        .expect("a pool for the auth jobs");
    let runner = Runner::new(
        pool.clone(),
        app.state.settings.jobs.clone(),
        JobsStatus::new(true),
    );
    let runner = concierge::auth::jobs(runner, &app.state.auth).expect("auth jobs");
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(runner.run(stopped));
    let value = work().await;
    let _ = stop.send(true);
    running.await.expect("runner task").expect("runner");
    // Closing ends whatever such a connection still had open; a connection never given back is not waited for.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pool.close()).await;
    value
}

/// `POST /api/v1/auth/email/verify` as the signed-in account.
pub async fn post_verification(
    app: &TestApp,
    access_token: &str,
    token: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/email/verify"))
        .bearer_auth(access_token)
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("verify")
}

/// Signs in as `email` and verifies it through the emailed link; returns the login body.
pub async fn sign_in_verified(app: &TestApp, email: &str, password: &str) -> Value {
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200, "login {email}");
    let login: Value = login.json().await.expect("login body");
    let access = login["access_token"].as_str().expect("access token");
    let token = verification_token_sent_to(app, email).await;
    let verified = post_verification(app, access, &token).await;
    assert_eq!(verified.status(), 204, "verify {email}");
    login
}
