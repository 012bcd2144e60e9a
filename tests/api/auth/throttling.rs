//! Login throttling under concurrency: attempts are reserved before any password is verified.

use futures::future::join_all;

use super::{PASSWORD, login_response, register};
use crate::helpers::{DEAD_REDIS_URL, TestApp, TestOptions, problem, spawn_app_with};

async fn app_with(configure: impl FnOnce(&mut concierge::config::Settings) + 'static) -> TestApp {
    spawn_app_with(TestOptions {
        configure: Box::new(configure),
        ..Default::default()
    })
    .await
}

/// Password verifications that happened at sign-in for `email`: each one is audited (`login_failed` or
/// `login_succeeded`); a refused attempt is not, because it never reaches the hash.
async fn verifications(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM auth_audit_log a JOIN users u ON u.id = a.user_id
         WHERE u.email = $1 AND a.event IN ('login_failed', 'login_succeeded')",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn burst(app: &TestApp, email: &str, attempts: usize) -> (usize, usize) {
    let statuses = join_all((0..attempts).map(|_| async {
        login_response(app, email, "wrong-passphrase-123")
            .await
            .status()
    }))
    .await;
    let unauthorized = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let limited = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!(unauthorized + limited, attempts, "{statuses:?}");
    (unauthorized, limited)
}

async fn fifty_wrong_logins_verify_at_most_the_limit(app: TestApp) {
    register(&app, "burst@example.com").await;

    let (unauthorized, limited) = burst(&app, "burst@example.com", 50).await;

    let verified = verifications(&app, "burst@example.com").await;
    assert!((1..=5).contains(&verified), "{verified} passwords verified");
    assert_eq!(
        verified, unauthorized as i64,
        "every 401 is one verification"
    );
    assert!(limited >= 45);
    // Attempts refused for being in flight were not counted: use up the rest of the budget one at a time.
    for _ in verified..5 {
        let wrong = login_response(&app, "burst@example.com", "wrong-passphrase-123").await;
        assert_eq!(wrong.status(), 401);
    }
    assert_eq!(
        burst(&app, "burst@example.com", 20).await,
        (0, 20),
        "locked"
    );
    assert_eq!(verifications(&app, "burst@example.com").await, 5);
    let locked = login_response(&app, "burst@example.com", PASSWORD).await;
    assert_eq!(
        locked.status(),
        429,
        "the right password waits for the lock too"
    );
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(problem(locked).await["code"], "rate-limited");
    assert_eq!(verifications(&app, "burst@example.com").await, 5);
    let address = app.metrics_address.as_ref().expect("a metrics listener");
    let metrics = app
        .client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"auth_password_verifications_total{purpose="login"}"#),
        "verifications are counted for operators too"
    );
}

#[tokio::test]
async fn fifty_concurrent_wrong_logins_verify_no_more_passwords_than_the_limit() {
    let app = app_with(|s| {
        s.auth.login_failures_per_account = 5;
        s.auth.lockout_base_secs = 60;
        s.server.metrics_listen = "127.0.0.1:0".into();
    })
    .await;
    fifty_wrong_logins_verify_at_most_the_limit(app).await;
}

#[tokio::test]
async fn with_redis_down_a_burst_still_verifies_no_more_passwords_than_the_limit() {
    let app = app_with(|s| {
        s.redis.url = DEAD_REDIS_URL.to_owned().into();
        s.auth.login_failures_per_account = 5;
        s.auth.lockout_base_secs = 60;
        s.server.metrics_listen = "127.0.0.1:0".into();
    })
    .await;
    fifty_wrong_logins_verify_at_most_the_limit(app).await;
}

#[tokio::test]
async fn a_correct_password_is_refused_until_the_lock_ends_and_a_success_resets_the_count() {
    let app = app_with(|s| {
        s.auth.login_failures_per_account = 3;
        s.auth.lockout_base_secs = 1;
        s.auth.lockout_max_secs = 1;
    })
    .await;
    register(&app, "patient@example.com").await;
    for _ in 0..3 {
        let wrong = login_response(&app, "patient@example.com", "wrong-passphrase-123").await;
        assert_eq!(wrong.status(), 401);
    }
    let locked = login_response(&app, "patient@example.com", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(retry_after * 1000 + 100)).await;
    let after = login_response(&app, "patient@example.com", PASSWORD).await;

    assert_eq!(after.status(), 200, "the lock has ended");
    for _ in 0..3 {
        let wrong = login_response(&app, "patient@example.com", "wrong-passphrase-123").await;
        assert_eq!(wrong.status(), 401, "the success reset the count");
    }
    assert_eq!(
        login_response(&app, "patient@example.com", PASSWORD)
            .await
            .status(),
        429,
        "and the limit applies afresh"
    );
}

async fn in_flight_is_bounded(app: TestApp) {
    let limiter = &app.state.auth.limiter;
    let first = limiter.begin("slow@example.com", None).await.unwrap();
    let second = limiter.begin("slow@example.com", None).await.unwrap();

    let third = limiter.begin("slow@example.com", None).await;

    assert_eq!(
        third.err(),
        Some(std::time::Duration::from_secs(1)),
        "two in flight at most"
    );
    assert!(
        limiter.begin("other@example.com", None).await.is_ok(),
        "per account"
    );
    first.failed().await;
    let fourth = limiter.begin("slow@example.com", None).await;
    assert!(fourth.is_ok(), "a settled attempt frees its slot");
    // A dropped attempt (the client went away) frees its slot too, but stays counted.
    drop(second);
    drop(fourth);
    crate::helpers::eventually(5, "the dropped attempts' slots", || async {
        limiter.begin("slow@example.com", None).await.ok()
    })
    .await
    .failed()
    .await;
    let fifth = limiter.begin("slow@example.com", None).await;
    assert!(
        fifth.is_ok(),
        "the fifth attempt is still verified, and locks the account meanwhile"
    );
    let sixth = limiter.begin("slow@example.com", None).await;
    assert!(
        sixth
            .err()
            .is_some_and(|wait| wait > std::time::Duration::from_secs(30)),
        "the dropped attempts stayed counted: the account is locked"
    );
}

#[tokio::test]
async fn at_most_two_verifications_of_one_account_are_in_flight() {
    let app = app_with(|s| {
        s.auth.login_failures_per_account = 5;
        s.auth.login_verifications_in_flight = 2;
        s.auth.lockout_base_secs = 60;
        s.server.metrics_listen = "127.0.0.1:0".into();
    })
    .await;
    in_flight_is_bounded(app).await;
}

#[tokio::test]
async fn at_most_two_verifications_of_one_account_are_in_flight_with_redis_down() {
    let app = app_with(|s| {
        s.redis.url = DEAD_REDIS_URL.to_owned().into();
        s.auth.login_failures_per_account = 5;
        s.auth.login_verifications_in_flight = 2;
        s.auth.lockout_base_secs = 60;
        s.server.metrics_listen = "127.0.0.1:0".into();
    })
    .await;
    in_flight_is_bounded(app).await;
}
