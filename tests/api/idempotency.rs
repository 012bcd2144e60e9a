//! Fenced idempotency claims: a claim's writes need its token, a live holder (heartbeat) is never taken
//! over, and a stopped one is, after which its writes are refused.

use std::time::Duration;

use actix_web::http::StatusCode;
use concierge::errors::ErrorCode;
use concierge::idempotency::{
    self, Begin, Claim, FenceError, Fingerprint, IdempotencyKey, STALE_AFTER, StoredResponse,
};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, demo_customer, spawn_sandboxed_app};

async fn user_of(app: &TestApp) -> Uuid {
    demo_customer(app).await;
    let (id,): (Uuid,) = sqlx::query_as("SELECT id FROM users ORDER BY created_at LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("user");
    id
}

fn fingerprint() -> Fingerprint {
    Fingerprint::new("POST", "/api/v1/test", b"{}")
}

async fn started(app: &TestApp, user: Uuid, key: &IdempotencyKey) -> Claim {
    match idempotency::begin(&app.db, user, key, &fingerprint())
        .await
        .expect("begin")
    {
        Begin::Started(claim) => claim,
        Begin::Replay(_) => panic!("a replay, not a claim"),
    }
}

fn created() -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED,
        body: json!({"id": "theirs"}),
    }
}

/// The holder of `key` stopped: its heartbeat is long past.
async fn stop_holder(app: &TestApp, key: &str) {
    sqlx::query(
        "UPDATE idempotency_keys SET heartbeat_at = now() - interval '1 hour' WHERE key = $1",
    )
    .bind(key)
    .execute(&app.db)
    .await
    .expect("stop the holder");
}

#[tokio::test]
async fn a_stale_holders_complete_and_forget_are_refused_after_a_takeover() {
    let app = spawn_sandboxed_app().await;
    let user = user_of(&app).await;
    let key = IdempotencyKey::parse("fenced").expect("key");
    let first = started(&app, user, &key).await;
    stop_holder(&app, "fenced").await;

    let second = started(&app, user, &key).await;
    assert_eq!(second.effect_id(), first.effect_id(), "the same effect");

    let stale = StoredResponse {
        status: StatusCode::CREATED,
        body: json!({"id": "mine"}),
    };
    assert!(matches!(
        idempotency::complete(&app.db, &first, &stale).await,
        Err(FenceError::Fenced)
    ));
    assert!(matches!(
        idempotency::forget(&app.db, &first).await,
        Err(FenceError::Fenced)
    ));
    assert!(matches!(
        idempotency::effect_started(&app.db, &first).await,
        Err(FenceError::Fenced)
    ));
    assert!(matches!(
        idempotency::heartbeat(&app.db, &first).await,
        Err(FenceError::Fenced)
    ));

    idempotency::complete(&app.db, &second, &created())
        .await
        .expect("the new holder completes");
    match idempotency::begin(&app.db, user, &key, &fingerprint())
        .await
        .expect("begin")
    {
        Begin::Replay(response) => assert_eq!(response, created()),
        Begin::Started(_) => panic!("the completed record is replayed"),
    }
}

#[tokio::test]
async fn a_live_holder_is_not_taken_over_however_long_it_works() {
    let app = spawn_sandboxed_app().await;
    let user = user_of(&app).await;
    let key = IdempotencyKey::parse("long-work").expect("key");
    let works_for = STALE_AFTER + Duration::from_secs(3);
    let pool = app.db.clone();
    let holder = {
        let key = key.clone();
        tokio::spawn(async move {
            idempotency::execute(&pool, user, &key, &fingerprint(), move || async move {
                tokio::time::sleep(works_for).await;
                Ok(created())
            })
            .await
            .map(|response| response.status())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // As if it had been working for an hour already: age alone never makes a claim abandoned.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '1 hour' WHERE key = 'long-work'")
        .execute(&app.db)
        .await
        .expect("age");
    let until = tokio::time::Instant::now() + works_for - Duration::from_secs(1);
    let mut repeats = 0;
    while tokio::time::Instant::now() < until {
        let repeat = idempotency::begin(&app.db, user, &key, &fingerprint()).await;
        match repeat {
            Err(error) => assert_eq!(error.problem().code, ErrorCode::RequestInProgress),
            Ok(_) => panic!("a live holder was taken over after {repeats} repeats"),
        }
        repeats += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        holder.await.expect("holder").expect("answer"),
        StatusCode::CREATED
    );
    assert!(matches!(
        idempotency::begin(&app.db, user, &key, &fingerprint()).await,
        Ok(Begin::Replay(_))
    ));
}

#[tokio::test]
async fn a_failure_before_any_effect_forgets_the_key_and_after_one_keeps_it_for_the_retry() {
    let app = spawn_sandboxed_app().await;
    let user = user_of(&app).await;

    let early = IdempotencyKey::parse("no-effect").expect("key");
    let claim = started(&app, user, &early).await;
    idempotency::forget(&app.db, &claim).await.expect("forget");
    let again = started(&app, user, &early).await;
    assert!(!again.resumed());
    assert_ne!(again.effect_id(), claim.effect_id(), "nothing to reconcile");

    let late = IdempotencyKey::parse("after-effect").expect("key");
    let claim = started(&app, user, &late).await;
    idempotency::effect_started(&app.db, &claim)
        .await
        .expect("effect");
    idempotency::forget(&app.db, &claim).await.expect("release");
    let retry = started(&app, user, &late).await;
    assert!(retry.resumed(), "the retry reconciles");
    assert_eq!(retry.effect_id(), claim.effect_id());
    assert!(matches!(
        idempotency::complete(&app.db, &claim, &created()).await,
        Err(FenceError::Fenced)
    ));
}
