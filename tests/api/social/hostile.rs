//! Review (issue 14): what a hostile network answer or a crafted text does to the checks and the job.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::support::*;
use crate::helpers::{Sandboxed, marketer_token, spawn_sandboxed_app_with};

/// X counts a URL as 23 only when it is one by X's rules: a known domain, then ASCII path characters.
/// Text after `https://` that is no URL to X (no domain, CJK after the slash) counts by weight.
#[tokio::test]
async fn text_after_a_scheme_that_x_does_not_take_for_a_url_counts_by_weight() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    for text in [
        format!("https://{}", "a".repeat(300)),
        format!("https://{}", "あ".repeat(200)),
        format!("see https://example.com/{}", "あ".repeat(200)),
        format!("see https://example.com/{}", ")".repeat(300)),
    ] {
        let response = create(
            &app,
            &token,
            &uuid::Uuid::new_v4().to_string(),
            &json!({"text": text, "targets": [accounts.x]}),
        )
        .await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{text}: {body}");
        assert_eq!(body["errors"][0]["code"], "x_too_long", "{body}");
    }
}

/// A refresh answer naming an absurd `expires_in` must not kill the run (the rotated refresh token would be
/// lost with it): the new tokens are stored and the post goes out.
#[tokio::test]
async fn an_enormous_expires_in_from_the_x_token_endpoint_neither_panics_nor_loses_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "access_token": "x-at-hostile", "refresh_token": "x-rt-hostile",
            "expires_in": 10_000_000_000_000_u64,
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"id": "1860000000000000777", "text": "Hostile refresh"},
        })))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(move |s| s.providers.x.base_url = uri),
    )
    .await;
    let token = marketer_token(&app, "x.hostile@concierge.test", "maison").await;
    let response = connect(&app, &token, json!({"network": "x", "external_id": "1500000000000000001", "name": "X", "access_token": X_TOKEN, "refresh_token": X_REFRESH, "expires_in": 60})).await;
    assert_eq!(response.status(), 201);
    let account: serde_json::Value = response.json().await.unwrap();
    let post = created(
        &app,
        &token,
        json!({"text": "Hostile refresh", "targets": [account["id"]]}),
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
        expires > chrono::Utc::now() + chrono::Duration::minutes(30)
            && expires < chrono::Utc::now() + chrono::Duration::days(367),
        "{after}"
    );
}

/// The permalink is the one address the network names itself: a `javascript:` (or any non-Instagram) one
/// must never be stored and served to the portal as the post's link.
#[tokio::test]
async fn a_permalink_instagram_answers_outside_instagram_is_not_stored() {
    let server = MockServer::start().await;
    let base = "/v21.0";
    let user = "17841400000000001";
    for (verb, route, body) in [
        (
            "POST",
            format!("{base}/{user}/media"),
            json!({"id": "900001"}),
        ),
        (
            "GET",
            format!("{base}/900001"),
            json!({"status_code": "FINISHED", "id": "900001"}),
        ),
        (
            "GET",
            format!("{base}/{user}/content_publishing_limit"),
            json!({"data": [{"quota_usage": 0, "config": {"quota_total": 25}}]}),
        ),
        (
            "POST",
            format!("{base}/{user}/media_publish"),
            json!({"id": "900002"}),
        ),
        (
            "GET",
            format!("{base}/900002"),
            json!({"id": "900002", "permalink": "javascript:alert(document.cookie)"}),
        ),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let uri = server.uri();
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(move |s| s.providers.instagram.base_url = uri),
    )
    .await;
    let token = marketer_token(&app, "ig.hostile@concierge.test", "maison").await;
    let response = connect(&app, &token, json!({"network": "instagram", "external_id": user, "name": "IG", "access_token": IG_TOKEN})).await;
    assert_eq!(response.status(), 201);
    let account: serde_json::Value = response.json().await.unwrap();
    let post = created(
        &app,
        &token,
        json!({"text": "Hostile permalink", "media": [IMAGE], "targets": [account["id"]]}),
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
    let ig = target(&post, "instagram");
    assert_eq!(ig["network_post_id"], "900002", "{ig}");
    assert!(
        ig["permalink"].is_null()
            || ig["permalink"]
                .as_str()
                .is_some_and(|l| l.starts_with("https://www.instagram.com/")),
        "{ig}"
    );
}

/// Hashtags run together (`#spring#sale`) are each a hashtag to Instagram: 31 of them are refused here, not
/// by Instagram after acceptance.
#[tokio::test]
async fn hashtags_written_without_spaces_count_each() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let tags: String = (0..31).map(|i| format!("#tag{i}")).collect();
    let response = create(
        &app,
        &token,
        &uuid::Uuid::new_v4().to_string(),
        &json!({"text": format!("New in {tags}"), "media": [IMAGE], "targets": [accounts.instagram]}),
    )
    .await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["code"], "instagram_too_many_hashtags",
        "{body}"
    );
}

/// Our ledger counts what the network account sent, not what one row of it sent: disconnecting and
/// connecting the account again (a new row) does not hand it a fresh quota.
#[tokio::test]
async fn reconnecting_an_account_does_not_reset_its_own_quota() {
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
    let response = app
        .client
        .delete(app.url(&format!(
            "/api/v1/brands/maison/social/accounts/{}",
            accounts.x
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = connect(&app, &token, json!({"network": "x", "external_id": "1500000000000000001", "name": "Maison X", "access_token": X_TOKEN, "refresh_token": X_REFRESH, "expires_in": 7200})).await;
    assert_eq!(response.status(), 201);
    let again: serde_json::Value = response.json().await.unwrap();
    assert_ne!(again["id"].as_str().unwrap(), accounts.x, "a new row");
    let second = created(
        &app,
        &token,
        json!({"text": "Two", "targets": [again["id"]]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        second["id"].as_str().unwrap(),
        "queued or sent",
        |p| target(p, "x")["deferred_reason"].is_string() || p["status"] == "published",
    )
    .await;
    let x = target(&post, "x");
    assert_eq!(x["status"], "publishing", "{x}");
    assert!(
        x["deferred_reason"].as_str().unwrap().contains("quota"),
        "{x}"
    );
}

/// A disconnect that commits while a run holds the account's tokens in memory (here: while the run waits for
/// the account's ledger lock) stops that run from sending: the reservation re-reads the account under a
/// share lock and finds it gone.
#[tokio::test]
async fn a_disconnect_while_a_run_holds_the_tokens_sends_nothing() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind("concierge.social.ledger:x:1500000000000000001")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let post = created(
        &app,
        &token,
        json!({"text": "Held back", "targets": [accounts.x]}),
    )
    .await;
    crate::helpers::eventually(20, "the run waiting for the ledger lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    let response = app
        .client
        .delete(app.url(&format!(
            "/api/v1/brands/maison/social/accounts/{}",
            accounts.x
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    blocker.rollback().await.unwrap();
    let id = post["id"].as_str().unwrap();
    let read_back = until(&app, &token, id, "the target failed", |p| {
        target(p, "x")["status"] == "failed"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let again = read(&app, &token, id).await;
    assert_eq!(target(&again, "x")["status"], "failed", "{again}");
    assert!(
        published(&app, "x").is_empty(),
        "sent after the disconnect: {read_back}"
    );
}
