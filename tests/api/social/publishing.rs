//! The publishing job through the real clients against the stand-ins: success, rate limits deferred,
//! permanent failures per target, bad tokens, token refresh, our own quota ledger.

use serde_json::json;

use super::support::*;
use crate::helpers::{Sandboxed, System, spawn_sandboxed_app_with};

#[tokio::test]
async fn a_post_to_all_three_networks_is_published_with_each_networks_id_and_permalink() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let post = created(&app, &token, json!({
        "text": "Spring collection #maison", "link": "https://maison.example/spring", "media": [IMAGE],
        "targets": [accounts.facebook, accounts.instagram, accounts.x],
    })).await;
    assert_eq!(post["status"], "scheduled");

    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;

    for network in ["facebook", "instagram", "x"] {
        let target = target(&post, network);
        assert_eq!(target["status"], "published", "{network}");
        let id = target["network_post_id"].as_str().unwrap();
        let on_network = published(&app, network);
        assert_eq!(on_network.len(), 1, "{network}: {on_network:?}");
        assert_eq!(on_network[0].id, id, "{network}");
        assert!(
            target["permalink"]
                .as_str()
                .unwrap()
                .starts_with("https://"),
            "{target}"
        );
    }
    assert_eq!(
        published(&app, "facebook")[0].link.as_deref(),
        Some("https://maison.example/spring")
    );
    assert_eq!(
        published(&app, "x")[0].text,
        "Spring collection #maison\n\nhttps://maison.example/spring"
    );
    assert_eq!(
        published(&app, "instagram")[0].image_url.as_deref(),
        Some(IMAGE)
    );
    let sandbox = app.sandbox();
    assert_eq!(
        sandbox.count_path(System::Facebook, "/104000000000001/feed"),
        1
    );
    assert_eq!(sandbox.count_path(System::Instagram, "/media_publish"), 1);
    assert_eq!(
        sandbox.count_operation(System::Instagram, "content_publishing_limit"),
        1,
        "quota checked first"
    );
    assert_eq!(sandbox.count_path(System::X, "/2/tweets"), 1);
}

#[tokio::test]
async fn a_post_made_while_x_is_throttled_goes_out_after_the_reset() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    control(
        &app,
        "social/x/rate-limit",
        json!({"remaining": 0, "reset_in_secs": 3}),
    )
    .await;
    let post = created(
        &app,
        &token,
        json!({"text": "After the reset", "targets": [accounts.x]}),
    )
    .await;
    let id = post["id"].as_str().unwrap();

    let deferred = until(&app, &token, id, "deferred", |p| {
        target(p, "x")["deferred_reason"].is_string()
    })
    .await;
    let x = target(&deferred, "x");
    assert_eq!(x["status"], "publishing", "deferred, not failed: {x}");
    assert_eq!(x["attempts"], 0, "a rate limit uses no attempt");
    assert!(published(&app, "x").is_empty());

    let post = until(&app, &token, id, "published after the reset", |p| {
        p["status"] == "published"
    })
    .await;
    let published_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(target(&post, "x")["published_at"].clone()).unwrap();
    let not_before: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(x["not_before"].clone()).unwrap();
    assert!(
        published_at >= not_before,
        "sent only after x-rate-limit-reset"
    );
    assert_eq!(published(&app, "x").len(), 1);
}

#[tokio::test]
async fn facebook_rate_limit_codes_defer_the_target_instead_of_failing_it() {
    for code in ["4", "17", "32", "613"] {
        let app = app().await;
        let (token, accounts) = marketer_with_accounts(&app).await;
        app.sandbox().inject_fault(
            System::Facebook,
            json!({"operation": "/feed", "error_code": code, "times": 1}),
        );
        control(&app, "social/facebook/usage", json!({"business": {"104000000000001": [{"type": "pages", "call_count": 100, "total_cputime": 5, "total_time": 5, "estimated_time_to_regain_access": 0}]}})).await;
        let post = created(
            &app,
            &token,
            json!({"text": format!("Code {code}"), "targets": [accounts.facebook]}),
        )
        .await;
        let id = post["id"].as_str().unwrap();
        let deferred = until(&app, &token, id, "deferred", |p| {
            target(p, "facebook")["deferred_reason"].is_string()
        })
        .await;
        assert_eq!(
            target(&deferred, "facebook")["status"],
            "publishing",
            "code {code}"
        );
        let account = crate::helpers::get_json_as(
            &app,
            &token,
            &format!(
                "/api/v1/brands/maison/social/accounts/{}",
                accounts.facebook
            ),
        )
        .await;
        assert!(
            account["paused_until"].is_string(),
            "the page is paused: {account}"
        );
        assert!(published(&app, "facebook").is_empty());
    }
}

#[tokio::test]
async fn facebook_usage_headers_near_the_limit_pause_the_page_after_a_post() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    control(
        &app,
        "social/facebook/usage",
        json!({"app": {"call_count": 95, "total_cputime": 10, "total_time": 10}}),
    )
    .await;
    let first = created(
        &app,
        &token,
        json!({"text": "First", "targets": [accounts.facebook]}),
    )
    .await;
    until(
        &app,
        &token,
        first["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    let second = created(
        &app,
        &token,
        json!({"text": "Second", "targets": [accounts.facebook]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        second["id"].as_str().unwrap(),
        "deferred",
        |p| target(p, "facebook")["deferred_reason"].is_string(),
    )
    .await;
    assert_eq!(target(&post, "facebook")["status"], "publishing");
    assert_eq!(
        published(&app, "facebook").len(),
        1,
        "the second waits for the pause"
    );
}

#[tokio::test]
async fn an_exhausted_instagram_publishing_limit_defers_the_post() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    control(&app, "social/instagram/config", json!({"quota_total": 0})).await;
    let post = created(
        &app,
        &token,
        json!({"text": "Quota", "media": [IMAGE], "targets": [accounts.instagram]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "deferred",
        |p| target(p, "instagram")["deferred_reason"].is_string(),
    )
    .await;
    let ig = target(&post, "instagram");
    assert_eq!(ig["status"], "publishing", "{ig}");
    assert!(
        ig["deferred_reason"]
            .as_str()
            .unwrap()
            .contains("publishing limit"),
        "{ig}"
    );
    assert_eq!(
        app.sandbox()
            .count_path(System::Instagram, "/media_publish"),
        0,
        "nothing sent past the limit"
    );
}

#[tokio::test]
async fn a_container_error_fails_instagram_only_and_the_post_is_partially_published() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    control(
        &app,
        "social/instagram/config",
        json!({"next_container_status": "ERROR", "container_delay_ms": 300}),
    )
    .await;
    let post = created(&app, &token, json!({"text": "Partial", "media": [IMAGE], "targets": [accounts.facebook, accounts.instagram, accounts.x]})).await;
    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "finished",
        |p| p["status"] == "partially_published",
    )
    .await;
    let ig = target(&post, "instagram");
    assert_eq!(ig["status"], "failed");
    assert!(ig["error"].as_str().unwrap().contains("ERROR"), "{ig}");
    assert_eq!(target(&post, "facebook")["status"], "published");
    assert_eq!(target(&post, "x")["status"], "published");
    assert!(
        app.sandbox()
            .count_path(System::Instagram, "/17841400000000001/media")
            >= 1
    );
    assert!(
        app.sandbox()
            .count(System::Instagram, |r| r.path.ends_with("/media")
                || r.path.contains("media_publish"))
            >= 1
    );
    assert_eq!(
        app.sandbox()
            .count_path(System::Instagram, "/media_publish"),
        0
    );
}

#[tokio::test]
async fn a_token_the_network_rejects_marks_the_account_needs_reauth_and_stops_its_posts() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let response = connect(&app, &token, json!({"network": "facebook", "external_id": "104000000000001", "name": "Maison FB", "access_token": "revoked-token"})).await;
    assert_eq!(response.status(), 201);
    let post = created(
        &app,
        &token,
        json!({"text": "Bad token", "targets": [accounts.facebook, accounts.x]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "finished",
        |p| p["status"] == "partially_published",
    )
    .await;
    let fb = target(&post, "facebook");
    assert_eq!(fb["status"], "needs_reauth", "{fb}");
    assert!(fb["error"].as_str().unwrap().contains("token"), "{fb}");
    let account = crate::helpers::get_json_as(
        &app,
        &token,
        &format!(
            "/api/v1/brands/maison/social/accounts/{}",
            accounts.facebook
        ),
    )
    .await;
    assert_eq!(account["status"], "needs_reauth");
    let refused = create(
        &app,
        &token,
        "k-after-reauth",
        &json!({"text": "Again", "targets": [accounts.facebook]}),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "needs_reauth", "{body}");
    // Reconnecting with a good token makes it active again.
    let response = connect(&app, &token, json!({"network": "facebook", "external_id": "104000000000001", "name": "Maison FB", "access_token": FB_TOKEN})).await;
    let account: serde_json::Value = response.json().await.unwrap();
    assert_eq!(account["id"].as_str(), Some(accounts.facebook.as_str()));
    assert_eq!(account["status"], "active");
}

#[tokio::test]
async fn x_duplicate_content_is_a_permanent_failure_with_that_reason() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let first = created(
        &app,
        &token,
        json!({"text": "Same words", "targets": [accounts.x]}),
    )
    .await;
    until(
        &app,
        &token,
        first["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    let second = created(
        &app,
        &token,
        json!({"text": "Same words", "targets": [accounts.x]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        second["id"].as_str().unwrap(),
        "failed",
        |p| p["status"] == "failed",
    )
    .await;
    let x = target(&post, "x");
    assert!(x["error"].as_str().unwrap().contains("duplicate"), "{x}");
    assert_eq!(x["attempts"], 0, "never retried");
    assert_eq!(app.sandbox().count_path(System::X, "/2/tweets"), 2);
}

#[tokio::test]
async fn an_x_token_about_to_expire_is_refreshed_before_posting_and_rotated() {
    let app = app().await;
    let token = crate::helpers::marketer_token(&app, "x.refresh@concierge.test", "maison").await;
    let response = connect(&app, &token, json!({"network": "x", "external_id": "1500000000000000001", "name": "X", "access_token": X_TOKEN, "refresh_token": X_REFRESH, "expires_in": 60})).await;
    let account: serde_json::Value = response.json().await.unwrap();
    let post = created(
        &app,
        &token,
        json!({"text": "Fresh token", "targets": [account["id"]]}),
    )
    .await;
    until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    assert_eq!(app.sandbox().count_path(System::X, "/2/oauth2/token"), 1);
    let after = crate::helpers::get_json_as(
        &app,
        &token,
        &format!(
            "/api/v1/brands/maison/social/accounts/{}",
            account["id"].as_str().unwrap()
        ),
    )
    .await;
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(after["token_expires_at"].clone()).unwrap();
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::minutes(30),
        "{after}"
    );
    // The demo refresh token was spent; the next post uses the new access token without refreshing again.
    let second = created(
        &app,
        &token,
        json!({"text": "Second with the new token", "targets": [account["id"]]}),
    )
    .await;
    until(
        &app,
        &token,
        second["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    assert_eq!(app.sandbox().count_path(System::X, "/2/oauth2/token"), 1);
}

#[tokio::test]
async fn a_refused_refresh_token_marks_the_x_account_needs_reauth() {
    let app = app().await;
    let token = crate::helpers::marketer_token(&app, "x.refused@concierge.test", "maison").await;
    let response = connect(&app, &token, json!({"network": "x", "external_id": "1500000000000000001", "name": "X", "access_token": X_TOKEN, "refresh_token": "not-a-refresh-token", "expires_in": 60})).await;
    let account: serde_json::Value = response.json().await.unwrap();
    let post = created(
        &app,
        &token,
        json!({"text": "Never sent", "targets": [account["id"]]}),
    )
    .await;
    let post = until(&app, &token, post["id"].as_str().unwrap(), "failed", |p| {
        p["status"] == "failed"
    })
    .await;
    assert_eq!(target(&post, "x")["status"], "needs_reauth");
    assert_eq!(app.sandbox().count_path(System::X, "/2/tweets"), 0);
}

#[tokio::test]
async fn a_burst_past_our_own_ledger_queues_instead_of_failing() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|s| s.social.limits.x.per_15_min = 1),
    )
    .await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let first = created(
        &app,
        &token,
        json!({"text": "One", "targets": [accounts.x]}),
    )
    .await;
    until(
        &app,
        &token,
        first["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    let second = created(
        &app,
        &token,
        json!({"text": "Two", "targets": [accounts.x]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        second["id"].as_str().unwrap(),
        "queued",
        |p| target(p, "x")["deferred_reason"].is_string(),
    )
    .await;
    let x = target(&post, "x");
    assert_eq!(x["status"], "publishing");
    assert!(
        x["deferred_reason"].as_str().unwrap().contains("quota"),
        "{x}"
    );
    assert_eq!(
        app.sandbox().count_path(System::X, "/2/tweets"),
        1,
        "the second never reached X"
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_then_published() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    app.sandbox().inject_fault(
        System::Facebook,
        json!({"operation": "/feed", "status": 503, "times": 1}),
    );
    let post = created(
        &app,
        &token,
        json!({"text": "Retry me", "targets": [accounts.facebook]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    assert_eq!(target(&post, "facebook")["attempts"], 1);
    assert_eq!(published(&app, "facebook").len(), 1);
}
