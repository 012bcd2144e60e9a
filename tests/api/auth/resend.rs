//! Resending the verification link: only the newest link works, and resends are limited per account and per
//! client address.

use super::{access, signed_in};
use crate::helpers::{
    Sandboxed, TestApp, eventually, post_verification, problem, spawn_sandboxed_app,
    spawn_sandboxed_app_with, token_in, verification_token_sent_to, with_auth_jobs,
};

pub async fn resend(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/email/verify/resend"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_resent_link_replaces_the_earlier_one() {
    let app = spawn_sandboxed_app().await;
    let session = access(&signed_in(&app, "resend@example.com").await);
    let first = verification_token_sent_to(&app, "resend@example.com").await;

    assert_eq!(resend(&app, &session).await.status(), 202);
    let second = with_auth_jobs(&app, || async {
        eventually(20, "the second link", || async {
            let messages = app.sandbox().messages_to("resend@example.com").await;
            let links: Vec<String> = messages
                .iter()
                .filter(|m| m["template"] == "email_verification")
                .filter_map(|m| m["body"].as_str().map(token_in))
                .collect();
            (links.len() == 2).then(|| links[1].clone())
        })
        .await
    })
    .await;
    assert_ne!(first, second);

    assert_eq!(
        post_verification(&app, &session, &first).await.status(),
        400
    );
    assert_eq!(
        post_verification(&app, &session, &second).await.status(),
        204
    );
    let verified = resend(&app, &session).await;
    assert_eq!(verified.status(), 409);
    assert_eq!(problem(verified).await["code"], "email-already-verified");
}

#[tokio::test]
async fn resending_is_limited_per_account_and_per_address() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|s| {
        s.auth.limits.resend_verification.per_account = 2;
        s.auth.limits.resend_verification.per_ip = 3;
    }))
    .await;
    let first = access(&signed_in(&app, "first@example.com").await);
    let second = access(&signed_in(&app, "second@example.com").await);

    assert_eq!(resend(&app, &first).await.status(), 202);
    assert_eq!(resend(&app, &first).await.status(), 202);
    let limited = resend(&app, &first).await;
    assert_eq!(limited.status(), 429, "per account");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(problem(limited).await["code"], "rate-limited");

    // A refused request counts nothing: the address has asked twice. Another account's first resend from it
    // is its third, and the next one is over the address's limit.
    assert_eq!(resend(&app, &second).await.status(), 202);
    let from_same_address = resend(&app, &second).await;
    assert_eq!(from_same_address.status(), 429, "per address");

    let verification_rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM email_verification_tokens t JOIN users u ON u.id = t.user_id
         WHERE u.email = 'first@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(verification_rows, 3, "register's link and two resends");
    let anonymous = app
        .client
        .post(app.url("/api/v1/auth/email/verify/resend"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn resends_stay_limited_when_redis_is_down() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|s| {
        s.redis.url = crate::helpers::DEAD_REDIS_URL.to_owned().into();
        s.auth.limits.resend_verification.per_account = 1;
    }))
    .await;
    let session = access(&signed_in(&app, "offline@example.com").await);

    assert_eq!(resend(&app, &session).await.status(), 202);
    let limited = resend(&app, &session).await;

    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn concurrent_resends_leave_exactly_one_usable_link() {
    let app = spawn_sandboxed_app().await;
    let session = access(&signed_in(&app, "racing@example.com").await);

    let statuses =
        futures::future::join_all((0..6).map(|_| async { resend(&app, &session).await.status() }))
            .await;
    assert!(statuses.iter().all(|s| s.as_u16() == 202), "{statuses:?}");

    let usable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM email_verification_tokens t JOIN users u ON u.id = t.user_id
         WHERE u.email = 'racing@example.com' AND t.used_at IS NULL AND t.expires_at > now()",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        usable, 1,
        "earlier links are void, whatever the interleaving"
    );
}
