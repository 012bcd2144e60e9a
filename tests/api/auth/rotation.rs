use std::collections::HashSet;

use serde_json::Value;

use super::{access, get_with, refresh, refresh_token, signed_in};
use crate::helpers::{TestOptions, problem, spawn_app_with};

fn grace(seconds: u64) -> TestOptions {
    TestOptions {
        configure: Box::new(move |s| s.auth.reuse_grace_secs = seconds),
        ..Default::default()
    }
}

#[tokio::test]
async fn each_refresh_rotates_the_token() {
    let app = spawn_app_with(grace(10)).await;
    let login = signed_in(&app, "rotate@example.com").await;

    let first = refresh(&app, &refresh_token(&login)).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let second: Value = refresh(&app, &refresh_token(&first))
        .await
        .json()
        .await
        .unwrap();

    assert_ne!(refresh_token(&first), refresh_token(&login));
    assert_ne!(refresh_token(&second), refresh_token(&first));
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&second))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn reusing_a_rotated_token_after_the_grace_window_revokes_the_whole_family() {
    let app = spawn_app_with(grace(0)).await;
    let login = signed_in(&app, "thief@example.com").await;
    let oldest = refresh_token(&login);
    let mut current = login.clone();
    for _ in 0..3 {
        current = refresh(&app, &refresh_token(&current))
            .await
            .json()
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let reuse = refresh(&app, &oldest).await;

    assert_eq!(reuse.status(), 401);
    problem(reuse).await;
    assert_eq!(
        refresh(&app, &refresh_token(&current)).await.status(),
        401,
        "the newest token is dead too"
    );
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&current))
            .await
            .status(),
        401,
        "and its access token"
    );
    let detected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth_audit_log WHERE event = 'refresh_token_reuse_detected'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(detected, 1);
}

#[tokio::test]
async fn reuse_inside_the_grace_window_answers_the_current_pair() {
    let app = spawn_app_with(grace(30)).await;
    let login = signed_in(&app, "twotabs@example.com").await;
    let child: Value = refresh(&app, &refresh_token(&login))
        .await
        .json()
        .await
        .unwrap();

    let replay = refresh(&app, &refresh_token(&login)).await;

    assert_eq!(replay.status(), 200);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(
        refresh_token(&replay),
        refresh_token(&child),
        "the family's current token"
    );
    assert_eq!(
        refresh(&app, &refresh_token(&child)).await.status(),
        200,
        "the family lives on"
    );
}

#[tokio::test]
async fn twenty_concurrent_refreshes_converge_on_one_child() {
    let app = spawn_app_with(grace(30)).await;
    let login = signed_in(&app, "race@example.com").await;
    let token = refresh_token(&login);

    let responses = futures::future::join_all((0..20).map(|_| refresh(&app, &token))).await;

    let mut children = HashSet::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        children.insert(refresh_token(&body));
    }
    assert_eq!(children.len(), 1, "every caller got the same child");
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id \
         WHERE u.email = 'race@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(rows, 2, "the family advanced once");
}

#[tokio::test]
async fn a_descendant_used_after_its_family_was_revoked_never_works_even_inside_the_grace_window() {
    let app = spawn_app_with(grace(30)).await;
    let login = signed_in(&app, "revoked@example.com").await;
    let child: Value = refresh(&app, &refresh_token(&login))
        .await
        .json()
        .await
        .unwrap();
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(access(&child))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);

    assert_eq!(refresh(&app, &refresh_token(&child)).await.status(), 401);
    assert_eq!(refresh(&app, &refresh_token(&login)).await.status(), 401);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|s| s.auth.refresh_idle_timeout_secs = 1),
        ..Default::default()
    })
    .await;
    let login = signed_in(&app, "idle@example.com").await;

    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    assert_eq!(refresh(&app, &refresh_token(&login)).await.status(), 401);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|s| s.auth.refresh_absolute_lifetime_secs = 2),
        ..Default::default()
    })
    .await;
    let mut current = signed_in(&app, "lifetime@example.com").await;
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        current = refresh(&app, &refresh_token(&current))
            .await
            .json()
            .await
            .unwrap();
    }

    tokio::time::sleep(std::time::Duration::from_millis(800)).await;

    assert_eq!(refresh(&app, &refresh_token(&current)).await.status(), 401);
}

#[tokio::test]
async fn the_refresh_cookie_works_for_browsers_and_is_locked_down() {
    let app = spawn_app_with(grace(10)).await;
    super::register(&app, "browser@example.com").await;
    let login = super::login_response(&app, "browser@example.com", super::PASSWORD).await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();

    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();

    assert_eq!(refreshed.status(), 200);
    assert!(refreshed.headers().contains_key("set-cookie"));
}

#[tokio::test]
async fn garbage_refresh_requests_are_clean_4xx_problems() {
    let app = spawn_app_with(grace(10)).await;
    assert_eq!(refresh(&app, "not-a-token").await.status(), 401);
    let none = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    let malformed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("content-type", "application/json")
        .body("{\"refresh_token\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    problem(malformed).await;
}
