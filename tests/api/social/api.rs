//! The HTTP API: validation per network, schedule edits, idempotency, brand isolation and roles, tokens
//! never in responses or logs.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::*;
use crate::helpers::{LogCapture, Sandboxed, spawn_sandboxed_app_with, staff, token_of};

fn codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn refused(app: &crate::helpers::TestApp, token: &str, body: Value) -> Vec<(String, String)> {
    let response = create(app, token, &uuid::Uuid::new_v4().to_string(), &body).await;
    assert_eq!(response.status(), 422, "{body}");
    codes(&response.json().await.unwrap())
}

#[tokio::test]
async fn each_network_checks_its_own_rules_before_acceptance() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let long = "a".repeat(281);
    assert_eq!(
        refused(&app, &token, json!({"text": long, "targets": [accounts.x]})).await,
        [("targets/0".into(), "x_too_long".into())]
    );
    // 257 letters, a space and a URL of any length: 281 weighted with the URL as 23.
    let with_url = format!(
        "{} https://example.com/{}",
        "a".repeat(257),
        "b".repeat(100)
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": with_url, "targets": [accounts.x]})
        )
        .await,
        [("targets/0".into(), "x_too_long".into())]
    );
    let fits = format!(
        "{} https://example.com/{}",
        "a".repeat(256),
        "b".repeat(100)
    );
    assert_eq!(
        create(
            &app,
            &token,
            "fits",
            &json!({"text": fits, "targets": [accounts.x]})
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": "no image", "targets": [accounts.instagram]})
        )
        .await,
        [("targets/0".into(), "instagram_one_image".into())]
    );
    let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": tags, "media": [IMAGE], "targets": [accounts.instagram]})
        )
        .await,
        [("targets/0".into(), "instagram_too_many_hashtags".into())]
    );
    let caption = "c".repeat(2201);
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": caption, "media": [IMAGE], "targets": [accounts.instagram]})
        )
        .await,
        [("targets/0".into(), "instagram_caption_too_long".into())]
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": " ", "targets": [accounts.facebook]})
        )
        .await,
        [("targets/0".into(), "facebook_empty".into())]
    );
    assert_eq!(
        create(
            &app,
            &token,
            "fb-link",
            &json!({"link": "https://maison.example", "targets": [accounts.facebook]})
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": "x", "link": "javascript:alert(1)", "targets": [accounts.facebook]})
        )
        .await,
        [("link".into(), "invalid_url".into())]
    );
    assert_eq!(
        refused(&app, &token, json!({"text": "x", "targets": []})).await,
        [("targets".into(), "count".into())]
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": "x", "targets": [accounts.x, accounts.x]})
        )
        .await,
        [("targets/1".into(), "duplicate".into())]
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": "x", "targets": [uuid::Uuid::now_v7()]})
        )
        .await[0]
            .1,
        "unknown_account"
    );
    assert_eq!(
        refused(
            &app,
            &token,
            json!({"text": "x", "publish_at": "2020-01-01T00:00:00Z", "targets": [accounts.x]})
        )
        .await,
        [("publish_at".into(), "in_the_past".into())]
    );
    let bad_json = create(&app, &token, "bad", &json!({"text": 5, "targets": "x"})).await;
    assert!(bad_json.status().is_client_error(), "{}", bad_json.status());
    let no_key = app
        .client
        .post(app.url("/api/v1/brands/maison/social/posts"))
        .bearer_auth(&token)
        .json(&json!({"text": "x", "targets": [accounts.x]}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let bad_account = connect(
        &app,
        &token,
        json!({"network": "x", "external_id": "abc", "name": "", "access_token": "has space"}),
    )
    .await;
    assert_eq!(bad_account.status(), 422);
    let fields: Vec<String> = codes(&bad_account.json().await.unwrap())
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        ["external_id", "name", "access_token", "refresh_token"]
    );
}

#[tokio::test]
async fn a_scheduled_post_can_be_changed_or_deleted_until_publishing_starts() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let post = created(
        &app,
        &token,
        json!({"text": "Draft", "targets": [accounts.x], "publish_at": later}),
    )
    .await;
    let id = post["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/brands/maison/social/posts/{id}"));

    let too_long = app
        .client
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"text": "a".repeat(300)}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), 422, "edits are checked per network too");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let changed: Value = app.client.patch(&url).bearer_auth(&token)
        .json(&json!({"text": "Final words", "publish_at": soon, "targets": [accounts.x, accounts.facebook]}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(changed["text"], "Final words");
    assert_eq!(changed["targets"].as_array().unwrap().len(), 2);

    let post = until(&app, &token, id, "published", |p| {
        p["status"] == "published"
    })
    .await;
    assert_eq!(
        published(&app, "x")[0].text,
        "Final words",
        "the edit is what went out"
    );
    assert_eq!(
        published(&app, "x").len(),
        1,
        "the first schedule's job sent nothing"
    );
    assert_eq!(post["publish_at"], changed["publish_at"]);
    let late = app
        .client
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"text": "Too late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 409);
    assert_eq!(
        crate::helpers::problem(late).await["type"],
        "/problems/social-post-not-editable"
    );
    assert_eq!(
        app.client
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );

    let other = created(
        &app,
        &token,
        json!({"text": "Cancelled", "targets": [accounts.x], "publish_at": later}),
    )
    .await;
    let other_url = app.url(&format!(
        "/api/v1/brands/maison/social/posts/{}",
        other["id"].as_str().unwrap()
    ));
    assert_eq!(
        app.client
            .delete(&other_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.client
            .get(&other_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_post_instead_of_scheduling_another() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let body = json!({"text": "Once", "targets": [accounts.x], "publish_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()});
    let first: Value = create(&app, &token, "same-key", &body)
        .await
        .json()
        .await
        .unwrap();
    let again = create(&app, &token, "same-key", &body).await;
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let other = create(
        &app,
        &token,
        "same-key",
        &json!({"text": "Other", "targets": [accounts.x]}),
    )
    .await;
    assert_eq!(other.status(), 422);
    let list: Value = crate::helpers::get_json_as(
        &app,
        &token,
        "/api/v1/brands/maison/social/posts?status=scheduled",
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let bad = crate::helpers::get_as(
        &app,
        &token,
        "/api/v1/brands/maison/social/posts?status=nope",
    )
    .await;
    assert_eq!(bad.status(), 422);
    let bad = crate::helpers::get_as(
        &app,
        &token,
        "/api/v1/brands/maison/social/posts?cursor=%%%",
    )
    .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn another_brand_or_role_never_reaches_a_brands_accounts_or_posts() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let post = created(&app, &token, json!({"text": "Ours", "targets": [accounts.x], "publish_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()})).await;
    let post_id = post["id"].as_str().unwrap();
    let atelier =
        crate::helpers::marketer_token(&app, "atelier.social@concierge.test", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "advisor.social@concierge.test",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let paths = [
        "/api/v1/brands/maison/social/accounts".to_owned(),
        format!("/api/v1/brands/maison/social/accounts/{}", accounts.x),
        "/api/v1/brands/maison/social/posts".to_owned(),
        format!("/api/v1/brands/maison/social/posts/{post_id}"),
    ];
    for path in &paths {
        assert_eq!(
            crate::helpers::get_as(&app, &atelier, path).await.status(),
            404,
            "{path}"
        );
        assert_eq!(
            crate::helpers::get_as(&app, &advisor, path).await.status(),
            403,
            "{path}"
        );
        assert_eq!(
            app.client.get(app.url(path)).send().await.unwrap().status(),
            401,
            "{path}"
        );
    }
    // Through atelier's own paths, maison's ids name nothing.
    for path in [
        format!("/api/v1/brands/atelier/social/accounts/{}", accounts.x),
        format!("/api/v1/brands/atelier/social/posts/{post_id}"),
    ] {
        assert_eq!(
            crate::helpers::get_as(&app, &atelier, &path).await.status(),
            404,
            "{path}"
        );
        let delete = app
            .client
            .delete(app.url(&path))
            .bearer_auth(&atelier)
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), 404, "{path}");
    }
    let foreign = app
        .client
        .post(app.url("/api/v1/brands/atelier/social/posts"))
        .bearer_auth(&atelier)
        .header("Idempotency-Key", "k")
        .json(&json!({"text": "Theirs", "targets": [accounts.x]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        422,
        "another brand's account is no target"
    );
    let patch = app
        .client
        .patch(app.url(&format!("/api/v1/brands/atelier/social/posts/{post_id}")))
        .bearer_auth(&atelier)
        .json(&json!({"text": "hijack"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 404);
    assert_eq!(read(&app, &token, post_id).await["text"], "Ours");
}

#[tokio::test]
async fn tokens_are_never_returned_logged_or_stored_in_clear() {
    let logs = LogCapture::default();
    let guard = logs.start();
    let app = app().await;
    let token =
        crate::helpers::marketer_token(&app, "secret.keeper@concierge.test", "maison").await;
    let mut answers = String::new();
    let mut ids = Vec::new();
    for body in [
        json!({"network": "facebook", "external_id": "104000000000001", "name": "FB", "access_token": FB_TOKEN}),
        json!({"network": "x", "external_id": "1500000000000000001", "name": "X", "access_token": X_TOKEN, "refresh_token": X_REFRESH, "expires_in": 60}),
        json!({"network": "instagram", "external_id": "17841400000000001", "name": "IG", "access_token": "wrong-ig-token-value"}),
    ] {
        let response = connect(&app, &token, body).await;
        let text = response.text().await.unwrap();
        ids.push(
            serde_json::from_str::<Value>(&text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        answers.push_str(&text);
    }
    let post = created(
        &app,
        &token,
        json!({"text": "Secret-free", "media": [IMAGE], "targets": ids}),
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
    answers.push_str(&post.to_string());
    answers.push_str(
        &crate::helpers::get_json_as(&app, &token, "/api/v1/brands/maison/social/accounts")
            .await
            .to_string(),
    );
    let refreshed = app.sandbox().state.social.published("x");
    assert_eq!(refreshed.len(), 1, "the X token was refreshed and used");
    let stored: Vec<(Vec<u8>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT access_token, refresh_token FROM social_accounts")
            .fetch_all(&app.db)
            .await
            .unwrap();
    drop(guard);
    let logged = logs.text();
    assert!(
        logged.contains("social post"),
        "the job logged: {}",
        &logged[..logged.len().min(500)]
    );
    for secret in [
        FB_TOKEN,
        X_TOKEN,
        X_REFRESH,
        "wrong-ig-token-value",
        "x-at-",
        "x-rt-",
    ] {
        assert!(!answers.contains(secret), "{secret} in an answer");
        assert!(!logged.contains(secret), "{secret} in the logs");
        for (access, refresh) in &stored {
            let clear = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(
                !clear(access) && !refresh.as_deref().is_some_and(clear),
                "{secret} stored in clear"
            );
        }
    }
    let _ = Method::GET;
}

#[tokio::test]
async fn concurrent_first_connects_of_one_account_make_one_account() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let token = crate::helpers::marketer_token(&app, "race@concierge.test", "maison").await;
    let body = json!({"network": "facebook", "external_id": "104000000000001", "name": "FB", "access_token": FB_TOKEN});
    let answers =
        futures::future::join_all((0..6).map(|_| connect(&app, &token, body.clone()))).await;
    for answer in answers {
        assert_eq!(answer.status(), 201);
    }
    let list =
        crate::helpers::get_json_as(&app, &token, "/api/v1/brands/maison/social/accounts").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}
