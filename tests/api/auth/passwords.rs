use serde_json::{Value, json};

use super::{
    PASSWORD, access, get_with, login_response, refresh, refresh_token, register, signed_in,
};
use crate::helpers::{
    Sandboxed, TestApp, eventually, problem, spawn_app, spawn_sandboxed_app_with,
};

const NEW_PASSWORD: &str = "another-long-unusual-passphrase";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({ "token": token, "new_password": password }))
        .send()
        .await
        .unwrap()
}

/// The reset link the messaging service "sent" to `email`.
async fn reset_token_sent_to(app: &TestApp, email: &str) -> String {
    let body = eventually(15, "the reset email", || async {
        app.sandbox()
            .messages_to(email)
            .await
            .iter()
            .rev()
            .find(|m| m["template"] == "password_reset")
            .and_then(|m| m["body"].as_str().map(str::to_owned))
    })
    .await;
    body.split("?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_password_is_reset_once_through_the_emailed_link_and_every_session_ends() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let session = signed_in(&app, "forgetful@example.com").await;

    assert_eq!(forgot(&app, "Forgetful@Example.com").await.status(), 202);
    let token = reset_token_sent_to(&app, "forgetful@example.com").await;
    let done = reset(&app, &token, NEW_PASSWORD).await;

    assert_eq!(done.status(), 204);
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&session))
            .await
            .status(),
        401
    );
    assert_eq!(refresh(&app, &refresh_token(&session)).await.status(), 401);
    assert_eq!(
        login_response(&app, "forgetful@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        login_response(&app, "forgetful@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    let again = reset(&app, &token, "yet-another-unusual-passphrase").await;
    assert_eq!(again.status(), 400, "single use");
    problem(again).await;
    app.stop().await;
}

#[tokio::test]
async fn a_reset_link_expires() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|s| s.auth.password_reset_ttl_secs = 2),
    )
    .await;
    register(&app, "slow@example.com").await;
    forgot(&app, "slow@example.com").await;
    let token = reset_token_sent_to(&app, "slow@example.com").await;

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn forgot_answers_the_same_for_unknown_emails() {
    let app = spawn_app().await;
    register(&app, "exists@example.com").await;

    let known = forgot(&app, "exists@example.com").await;
    let unknown = forgot(&app, "ghost@example.com").await;

    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known, unknown);
}

#[tokio::test]
async fn a_forged_or_weak_reset_is_refused() {
    let app = spawn_app().await;
    assert_eq!(
        reset(&app, "made-up-token", NEW_PASSWORD).await.status(),
        400
    );
    assert_eq!(reset(&app, "made-up-token", "short").await.status(), 422);
    assert_eq!(
        reset(&app, &"x".repeat(500), NEW_PASSWORD).await.status(),
        400
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let here = signed_in(&app, "changer@example.com").await;
    let elsewhere = signed_in(&app, "changer@example.com").await;
    let change = |current: &'static str, new: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/password/change"))
            .bearer_auth(access(&here))
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };

    assert_eq!(
        change("wrong-current-password", NEW_PASSWORD)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(change(PASSWORD, "password").await.unwrap().status(), 422);
    assert_eq!(change(PASSWORD, NEW_PASSWORD).await.unwrap().status(), 204);

    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&here))
            .await
            .status(),
        200,
        "this session stays"
    );
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&elsewhere))
            .await
            .status(),
        401
    );
    assert_eq!(
        login_response(&app, "changer@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
}

/// A reset (or a password change) voids the user's other reset links: an older link, perhaps in a mailbox
/// someone else reads, must not set the password again (issue 10, item 21).
#[tokio::test]
async fn a_reset_voids_the_other_reset_links() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    register(&app, "twice@example.com").await;
    assert_eq!(forgot(&app, "twice@example.com").await.status(), 202);
    let first = reset_token_sent_to(&app, "twice@example.com").await;
    assert_eq!(forgot(&app, "twice@example.com").await.status(), 202);
    eventually(15, "the second reset email", || async {
        let messages = app.sandbox().messages_to("twice@example.com").await;
        let resets = messages
            .iter()
            .filter(|m| m["template"] == "password_reset")
            .count();
        (resets >= 2).then_some(())
    })
    .await;
    let second = reset_token_sent_to(&app, "twice@example.com").await;
    assert_ne!(first, second);

    assert_eq!(reset(&app, &second, NEW_PASSWORD).await.status(), 204);

    let stale = reset(&app, &first, "yet-another-unusual-passphrase").await;
    assert_eq!(stale.status(), 400);
    assert_eq!(
        login_response(&app, "twice@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    app.stop().await;
}

/// Runs the finished "issue a reset link" job once more, as a worker does when it takes over a job whose
/// worker died before recording it done (or a retry after a lost acknowledgement).
async fn rerun_reset_request_job(app: &TestApp) {
    let rerun = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(), lock_at = NULL,
                lock_by = NULL, done_at = NULL, last_result = NULL
         WHERE job_type = 'concierge.auth.password_reset_request'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(rerun.rows_affected(), 1);
    eventually(15, "the re-run job", || async {
        let status: String = sqlx::query_scalar(
            "SELECT status FROM apalis.jobs WHERE job_type = 'concierge.auth.password_reset_request'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (status == "Done").then_some(())
    })
    .await;
}

/// A used link's row is the only thing that says it was used: once the nightly prune deleted it, a re-run of
/// the job that issued it (its token is derived from the job's id) must not write it again, fresh, so the
/// link in the mailbox sets the password a second time.
#[tokio::test]
async fn a_used_reset_link_does_not_come_back_after_the_prune_and_a_job_rerun() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    register(&app, "reused@example.com").await;
    assert_eq!(forgot(&app, "reused@example.com").await.status(), 202);
    let token = reset_token_sent_to(&app, "reused@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 204);

    concierge::auth::prune_records(&app.state.auth)
        .await
        .unwrap();
    rerun_reset_request_job(&app).await;

    assert_eq!(
        reset(&app, &token, "an-attackers-unusual-passphrase")
            .await
            .status(),
        400,
        "the spent link stays spent"
    );
    assert_eq!(
        login_response(&app, "reused@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    app.stop().await;
}

/// The same for a link that expired unused: a re-run long after the request does not start its lifetime
/// again.
#[tokio::test]
async fn an_expired_reset_link_does_not_come_back_after_the_prune_and_a_job_rerun() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|s| s.auth.password_reset_ttl_secs = 2),
    )
    .await;
    register(&app, "expired@example.com").await;
    assert_eq!(forgot(&app, "expired@example.com").await.status(), 202);
    let token = reset_token_sent_to(&app, "expired@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    concierge::auth::prune_records(&app.state.auth)
        .await
        .unwrap();
    rerun_reset_request_job(&app).await;

    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 400);
    app.stop().await;
}
