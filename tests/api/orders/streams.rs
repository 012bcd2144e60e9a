//! The order status streams' limits: one shared listener per process (no poll loop per stream), a cap per
//! user, and the end of a stream whose session ends.

use std::time::Duration;

use concierge_sandbox::demo::CUSTOMERS;
use serde_json::json;

use super::*;
use crate::helpers::{customer_linked_to, eventually, problem};

const CAP: usize = 5;

async fn open(app: &TestApp, token: &str, id: &str) -> Response {
    get(app, token, &format!("/api/v1/orders/{id}/events")).await
}

/// Reads the stream until it ends; `None` if it is still open after `within`.
async fn ended_within(mut response: Response, within: Duration) -> Option<String> {
    tokio::time::timeout(within, async move {
        let mut text = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .ok()
}

async fn listeners(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn placed(app: &TestApp, token: &str) -> String {
    place(app, token, &sim_order()).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// A copy of order `id` belonging to `user_id` (that customer has no card to order with).
async fn order_of(app: &TestApp, id: &str, user_id: &str) -> String {
    sqlx::query_scalar(
        "INSERT INTO orders
         SELECT (jsonb_populate_record(NULL::orders, to_jsonb(o) || jsonb_build_object(
                    'id', gen_random_uuid(), 'user_id', $2::uuid, 'salesforce_order_id', 'copy-' || o.id))).*
         FROM orders o WHERE o.id = $1::uuid
         RETURNING id::text",
    )
    .bind(id)
    .bind(user_id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_stream_of_a_process_shares_one_listener_and_hears_other_replicas() {
    let (app, token) = with_demo_customer().await;
    let first = placed(&app, &token).await;
    let second = placed(&app, &token).await;
    assert_eq!(listeners(&app).await, 0, "nothing listens before a stream");

    let streams = [
        open(&app, &token, &first).await,
        open(&app, &token, &first).await,
        open(&app, &token, &second).await,
    ];
    assert!(streams.iter().all(|s| s.status() == 200));
    assert_eq!(listeners(&app).await, 1, "one listener for every stream");

    // Another replica's change: a row written straight into order_events reaches the stream.
    let [mut a, _, _] = streams;
    sqlx::query("INSERT INTO order_events (order_id, status) VALUES ($1::uuid, 'failed')")
        .bind(&first)
        .execute(&app.db)
        .await
        .unwrap();
    let text = tokio::time::timeout(Duration::from_secs(5), async {
        let mut text = String::new();
        while let Ok(Some(chunk)) = a.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("the stream ends at the final status");
    assert!(text.contains(r#""status":"failed""#), "{text}");
}

#[tokio::test]
async fn a_user_beyond_the_stream_cap_gets_a_429_problem_and_others_are_not_affected() {
    let (app, token) = with_demo_customer().await;
    let id = placed(&app, &token).await;
    let mut held = Vec::new();
    for _ in 0..CAP {
        let response = open(&app, &token, &id).await;
        assert_eq!(response.status(), 200);
        held.push(response);
    }

    let refused = open(&app, &token, &id).await;

    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["code"], "too-many-streams");
    // Another session of the same user counts too.
    let again = crate::auth::login_response(&app, CUSTOMERS[0].email, crate::auth::PASSWORD).await;
    let other_session = token_of(&again.json().await.unwrap());
    assert_eq!(open(&app, &other_session, &id).await.status(), 429);
    // Another customer has slots of their own (and still cannot read this order).
    let other_login = customer_linked_to(&app, 1).await;
    let other = token_of(&other_login);
    let own = order_of(
        &app,
        &id,
        other_login["user"]["id"].as_str().expect("user id"),
    )
    .await;
    assert_eq!(open(&app, &other, &own).await.status(), 200);
    assert_eq!(open(&app, &other, &id).await.status(), 404);

    // A stream the client closes gives its slot back.
    // The server notices at its next keep-alive writes (every 15 s) that the client has gone.
    held.pop();
    eventually(45, "the closed stream's slot to be free", || async {
        let response = open(&app, &token, &id).await;
        (response.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_stream_ends_when_its_session_logs_out() {
    let (app, token) = with_demo_customer().await;
    let id = placed(&app, &token).await;
    let stream = open(&app, &token, &id).await;
    assert_eq!(stream.status(), 200);
    let reader = tokio::spawn(ended_within(stream, Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);

    let text = reader.await.unwrap().expect("the stream ends at logout");
    assert!(
        text.contains(r#""status":"pending_review""#),
        "the history came first: {text}"
    );
    assert_eq!(
        open(&app, &token, &id).await.status(),
        401,
        "a reconnect is refused"
    );
}

#[tokio::test]
async fn a_password_change_ends_the_streams_of_the_users_other_sessions_only() {
    let (app, token) = with_demo_customer().await;
    let id = placed(&app, &token).await;
    let again = crate::auth::login_response(&app, CUSTOMERS[0].email, crate::auth::PASSWORD).await;
    let current = token_of(&again.json().await.unwrap());
    let other_session = tokio::spawn(ended_within(
        open(&app, &token, &id).await,
        Duration::from_secs(5),
    ));
    let same_session = tokio::spawn(ended_within(
        open(&app, &current, &id).await,
        Duration::from_secs(3),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let changed = app
        .client
        .post(app.url("/api/v1/auth/password/change"))
        .bearer_auth(&current)
        .json(&json!({ "current_password": crate::auth::PASSWORD,
                        "new_password": "another-long-and-unusual-passphrase" }))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());

    assert!(
        other_session.await.unwrap().is_some(),
        "the revoked session's stream ends"
    );
    assert!(
        same_session.await.unwrap().is_none(),
        "the session that changed the password keeps its stream"
    );
}

#[tokio::test]
async fn a_stream_ends_when_its_session_expires() {
    let (app, token) = with_demo_customer().await;
    let id = placed(&app, &token).await;
    // The session runs out 2 s from now: no revocation, no notification, just its expiry passing.
    sqlx::query(
        "UPDATE sessions SET expires_at = now() + interval '2 seconds'
         WHERE revoked_at IS NULL AND user_id = (SELECT user_id FROM orders WHERE id = $1::uuid)",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .unwrap();
    let stream = open(&app, &token, &id).await;
    assert_eq!(stream.status(), 200);

    let text = ended_within(stream, Duration::from_secs(8))
        .await
        .expect("the stream ends when its session expires, not minutes later");
    assert!(
        text.contains(r#""status":"pending_review""#),
        "the history came first: {text}"
    );
    assert_eq!(open(&app, &token, &id).await.status(), 401);
}
