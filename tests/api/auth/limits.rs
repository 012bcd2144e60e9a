//! Unauthenticated work is bounded: the account routes are limited per address and per account, refuse bad
//! input before any argon2 work, and cannot take sign-in's hashing capacity.

use std::time::Duration;

use concierge::config::Settings;
use reqwest::Response;
use serde_json::{Value, json};

use super::{PASSWORD, access, login_response, register, signed_in};
use crate::helpers::{
    Sandboxed, TestApp, TestOptions, eventually, problem, spawn_app, spawn_app_with,
    spawn_sandboxed_app_with,
};

const NEW_PASSWORD: &str = "another-long-unusual-passphrase";

/// Loopback is trusted (the test client plays the portal's server), so `X-Forwarded-For` picks the client.
async fn limited_app(per_ip: u32, per_account: u32) -> TestApp {
    spawn_app_with(TestOptions {
        configure: Box::new(move |s: &mut Settings| {
            s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
            for limit in [
                &mut s.auth.limits.register,
                &mut s.auth.limits.forgot_password,
                &mut s.auth.limits.reset_password,
                &mut s.auth.limits.password_change,
            ] {
                limit.per_ip = per_ip;
                limit.per_account = per_account;
                limit.window_secs = 600;
            }
        }),
        ..Default::default()
    })
    .await
}

async fn post_from(
    app: &TestApp,
    ip: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", ip)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn register_from(app: &TestApp, ip: &str, email: &str) -> u16 {
    let body = json!({ "email": email, "password": PASSWORD, "first_name": "Hanako", "last_name": "Yamada" });
    post_from(app, ip, "/api/v1/auth/register", body, None)
        .await
        .status()
        .as_u16()
}

async fn forgot_from(app: &TestApp, ip: &str, email: &str) -> Response {
    post_from(
        app,
        ip,
        "/api/v1/auth/password/forgot",
        json!({ "email": email }),
        None,
    )
    .await
}

async fn reset_from(app: &TestApp, ip: &str, token: &str, password: &str) -> u16 {
    let body = json!({ "token": token, "new_password": password });
    post_from(app, ip, "/api/v1/auth/password/reset", body, None)
        .await
        .status()
        .as_u16()
}

async fn change_from(app: &TestApp, ip: &str, session: &Value, current: &str, new: &str) -> u16 {
    let body = json!({ "current_password": current, "new_password": new });
    post_from(
        app,
        ip,
        "/api/v1/auth/password/change",
        body,
        Some(&access(session)),
    )
    .await
    .status()
    .as_u16()
}

/// The 429 problem with a Retry-After within the window.
async fn assert_limited(response: Response) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(response).await["code"], "rate-limited");
}

/// A usable reset link for `email`, written as `forgot` would (the token is any string of our shape).
async fn reset_link(app: &TestApp, email: &str, n: u8) -> String {
    let token = format!("{}{n:02}", "t".repeat(41));
    sqlx::query(
        "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)
         SELECT gen_random_uuid(), id, sha256(convert_to($2, 'UTF8')), now() + interval '10 minutes'
         FROM users WHERE email = $1",
    )
    .bind(email)
    .bind(&token)
    .execute(&app.db)
    .await
    .unwrap();
    token
}

#[tokio::test]
async fn register_is_limited_per_address_and_per_account() {
    let app = limited_app(3, 2).await;

    assert_eq!(
        register_from(&app, "203.0.113.1", "same@example.com").await,
        202
    );
    assert_eq!(
        register_from(&app, "203.0.113.2", "same@example.com").await,
        202,
        "a taken address gets the same answer"
    );
    let third = post_from(&app, "203.0.113.3", "/api/v1/auth/register",
        json!({ "email": "SAME@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B" }), None).await;
    assert_limited(third).await;

    for i in 0..2 {
        assert_eq!(
            register_from(&app, "203.0.113.9", &format!("busy{i}@example.com")).await,
            202
        );
    }
    // The address has one request left; a flood of invalid ones uses it up too (they are still work).
    let invalid =
        json!({ "email": "nope", "password": "short", "first_name": "", "last_name": "" });
    assert_eq!(
        post_from(&app, "203.0.113.9", "/api/v1/auth/register", invalid, None)
            .await
            .status(),
        422
    );
    assert_eq!(
        register_from(&app, "203.0.113.9", "busy9@example.com").await,
        429
    );
    assert_eq!(
        register_from(&app, "203.0.113.10", "busy9@example.com").await,
        202,
        "another address"
    );
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_and_per_account() {
    let app = limited_app(3, 2).await;

    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            forgot_from(&app, ip, "anyone@example.com").await.status(),
            202
        );
    }
    assert_limited(forgot_from(&app, "203.0.113.3", "Anyone@Example.com").await).await;

    for i in 0..3 {
        let status = forgot_from(&app, "203.0.113.9", &format!("x{i}@example.com"))
            .await
            .status();
        assert_eq!(status, 202);
    }
    assert_limited(forgot_from(&app, "203.0.113.9", "x9@example.com").await).await;
    assert_eq!(
        forgot_from(&app, "203.0.113.10", "x9@example.com")
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn reset_password_is_limited_per_address_and_per_account() {
    let app = limited_app(3, 2).await;
    register(&app, "resetter@example.com").await;

    for _ in 0..3 {
        assert_eq!(
            reset_from(&app, "203.0.113.9", &"g".repeat(43), NEW_PASSWORD).await,
            400
        );
    }
    assert_eq!(
        reset_from(&app, "203.0.113.9", &"g".repeat(43), NEW_PASSWORD).await,
        429
    );

    // Per account: each reset voids the user's other links, so each round gets a fresh one.
    for (n, ip) in [(1, "203.0.113.1"), (2, "203.0.113.2")] {
        let link = reset_link(&app, "resetter@example.com", n).await;
        assert_eq!(reset_from(&app, ip, &link, NEW_PASSWORD).await, 204);
    }
    let link = reset_link(&app, "resetter@example.com", 3).await;
    assert_eq!(
        reset_from(&app, "203.0.113.3", &link, NEW_PASSWORD).await,
        429
    );
    assert_eq!(
        reset_from(&app, "203.0.113.4", &link, NEW_PASSWORD).await,
        429,
        "per account, from any address"
    );
}

#[tokio::test]
async fn password_change_is_limited_per_address_and_per_account_and_needs_a_session() {
    let app = limited_app(3, 2).await;
    let alice = signed_in(&app, "alice@example.com").await;
    let bob = signed_in(&app, "bob@example.com").await;

    let anonymous = post_from(
        &app,
        "203.0.113.1",
        "/api/v1/auth/password/change",
        json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(anonymous.status(), 401);

    assert_eq!(
        change_from(&app, "203.0.113.1", &alice, "wrong-current-1", NEW_PASSWORD).await,
        401
    );
    assert_eq!(
        change_from(&app, "203.0.113.2", &alice, "wrong-current-2", NEW_PASSWORD).await,
        401
    );
    assert_eq!(
        change_from(&app, "203.0.113.3", &alice, PASSWORD, NEW_PASSWORD).await,
        429,
        "a stolen session cannot keep guessing the current password"
    );

    let carol = signed_in(&app, "carol@example.com").await;
    assert_eq!(
        change_from(&app, "203.0.113.1", &bob, "wrong-current-3", NEW_PASSWORD).await,
        401
    );
    assert_eq!(
        change_from(&app, "203.0.113.1", &carol, "wrong-current-4", NEW_PASSWORD).await,
        401
    );
    assert_eq!(
        change_from(&app, "203.0.113.1", &carol, PASSWORD, NEW_PASSWORD).await,
        429,
        "the address's fourth"
    );
    assert_eq!(
        change_from(&app, "203.0.113.5", &carol, PASSWORD, NEW_PASSWORD).await,
        204
    );
}

/// Runs `request` to completion while the register/reset hashing pool is fully taken: if it completes, it
/// did no argon2 work there. (The timeout only turns a hang into a failure.)
async fn without_hashing<T>(request: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), request)
        .await
        .expect("the request waited for a hashing permit")
}

#[tokio::test]
async fn bad_tokens_and_weak_passwords_are_refused_before_any_hashing() {
    let app = spawn_app().await;
    let session = signed_in(&app, "careful@example.com").await;
    let link = reset_link(&app, "careful@example.com", 1).await;
    let hold = app.state.auth.passwords.occupy_other_pool().await.unwrap();

    let reset = |token: String, password: &'static str| {
        let app = &app;
        async move { reset_from(app, "127.0.0.1", &token, password).await }
    };
    assert_eq!(
        without_hashing(reset("made-up-token".into(), NEW_PASSWORD)).await,
        400
    );
    assert_eq!(
        without_hashing(reset("x".repeat(500), NEW_PASSWORD)).await,
        400
    );
    assert_eq!(
        without_hashing(reset("u".repeat(43), NEW_PASSWORD)).await,
        400,
        "unknown"
    );
    assert_eq!(
        without_hashing(reset(link.clone(), "password")).await,
        422,
        "too common"
    );
    let weak_register = json!({ "email": "new@example.com", "password": "password1", "first_name": "A", "last_name": "B" });
    let registered = without_hashing(post_from(
        &app,
        "127.0.0.1",
        "/api/v1/auth/register",
        weak_register,
        None,
    ))
    .await;
    assert_eq!(registered.status(), 422);
    assert_eq!(
        without_hashing(change_from(&app, "127.0.0.1", &session, PASSWORD, "short")).await,
        422,
        "the new password's policy before the current one is verified"
    );

    drop(hold);
    assert_eq!(
        reset_from(&app, "127.0.0.1", &link, NEW_PASSWORD).await,
        204,
        "the link was never used"
    );
}

#[tokio::test]
async fn a_flood_of_register_and_reset_work_cannot_starve_sign_in_of_hashing() {
    let app = spawn_app().await;
    register(&app, "member@example.com").await;
    let hold = app.state.auth.passwords.occupy_other_pool().await.unwrap();
    let pending = {
        let client = app.client.clone();
        let url = app.url("/api/v1/auth/register");
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({ "email": "queued@example.com", "password": PASSWORD, "first_name": "Q", "last_name": "Q" }))
                .send()
                .await
                .unwrap()
                .status()
        })
    };

    let login = login_response(&app, "member@example.com", PASSWORD).await;

    assert_eq!(login.status(), 200, "sign-in has its own hashing pool");
    assert!(
        !pending.is_finished(),
        "the register is still waiting for its pool"
    );
    drop(hold);
    assert_eq!(pending.await.unwrap(), 202);
}

async fn writes(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT 'job:' || job_type, count(*) FROM apalis.jobs GROUP BY job_type
         UNION ALL SELECT 'audit:' || event || ':' || (user_id IS NULL)::text, count(*) FROM auth_audit_log
           WHERE event LIKE 'password%' GROUP BY 1
         UNION ALL SELECT 'reset_tokens', count(*) FROM password_reset_tokens
         ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn forgot_password_does_the_same_work_for_known_and_unknown_emails() {
    let app = spawn_app().await;
    register(&app, "known@example.com").await;
    let before = writes(&app).await;

    let known = forgot_from(&app, "127.0.0.1", "known@example.com").await;
    let after_known = writes(&app).await;
    let unknown = forgot_from(&app, "127.0.0.1", "unknown@example.com").await;
    let after_unknown = writes(&app).await;

    let answer = |response: Response| async move {
        let status = response.status();
        let content_type = response.headers()["content-type"].clone();
        (
            status,
            content_type,
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(answer(known).await, answer(unknown).await);
    let delta = |from: &[(String, i64)], to: &[(String, i64)]| -> Vec<(String, i64)> {
        to.iter()
            .map(|(what, n)| {
                let was = from.iter().find(|(w, _)| w == what).map_or(0, |(_, n)| *n);
                (what.clone(), n - was)
            })
            .filter(|(_, n)| *n != 0)
            .collect()
    };
    let known_writes = delta(&before, &after_known);
    assert_eq!(known_writes, delta(&after_known, &after_unknown));
    assert_eq!(
        known_writes,
        [
            ("audit:password_reset_requested:true".to_owned(), 1),
            ("job:concierge.auth.password_reset_request".to_owned(), 1),
        ]
    );
}

#[tokio::test]
async fn the_reset_job_issues_a_link_for_a_known_email_only() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    register(&app, "real@example.com").await;

    forgot_from(&app, "127.0.0.1", "ghost@example.com").await;
    forgot_from(&app, "127.0.0.1", "real@example.com").await;

    eventually(15, "both reset requests handled", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.auth.password_reset_request' AND status = 'Done'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (done == 2).then_some(())
    })
    .await;
    eventually(15, "the reset email", || async {
        (!app
            .sandbox()
            .messages_to("real@example.com")
            .await
            .is_empty())
        .then_some(())
    })
    .await;
    assert!(
        app.sandbox()
            .messages_to("ghost@example.com")
            .await
            .is_empty()
    );
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM password_reset_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(tokens, 1);
    app.stop().await;
}

#[tokio::test]
async fn with_redis_down_the_account_routes_stay_limited() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|s: &mut Settings| {
            s.redis.url = crate::helpers::DEAD_REDIS_URL.to_owned().into();
            s.auth.limits.forgot_password.per_ip = 2;
            s.auth.limits.forgot_password.window_secs = 600;
        }),
        ..Default::default()
    })
    .await;

    for i in 0..2 {
        let status = forgot_from(&app, "127.0.0.1", &format!("o{i}@example.com"))
            .await
            .status();
        assert_eq!(status, 202);
    }

    assert_limited(forgot_from(&app, "127.0.0.1", "o9@example.com").await).await;
}
