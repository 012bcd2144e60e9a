//! Who reaches the identity API: the brand's marketers and admins; other staff and customers are refused,
//! another brand's profiles and merges are not found.

use serde_json::json;

use super::support::{code, get, merge, post, profile};
use crate::helpers::{STAFF_PASSWORD, TestApp, marketer_token, spawn_app, staff, token_of};

async fn customer_token(app: &TestApp) -> String {
    crate::helpers::demo_brands(app).await;
    let hash = app
        .state
        .auth
        .passwords
        .hash(&STAFF_PASSWORD.to_owned().into())
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    concierge::auth::create_user(
        &mut conn,
        concierge::auth::NewUser {
            id: uuid::Uuid::now_v7(),
            email: "client@example.com",
            password_hash: &hash,
            first_name: "Cli",
            last_name: "Ent",
            kind: concierge::auth::UserKind::Customer,
            roles: &["customer".to_owned()],
            brand_id: None,
            store_ids: &[],
        },
    )
    .await
    .unwrap()
    .unwrap();
    drop(conn);
    let login: serde_json::Value = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "client@example.com", "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token_of(&login)
}

#[tokio::test]
async fn only_the_brands_marketers_resolve_and_merge_and_other_brands_are_not_found() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mk@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mk@atelier.example", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let customer = customer_token(&app).await;
    let a = profile(&app, &maison, "maison", "email:a@example.com", json!({})).await;
    let b = profile(&app, &maison, "maison", "email:b@example.com", json!({})).await;
    let body = json!({"identifiers": [{"kind": "email", "value": "x@example.com"}]});

    let anonymous = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/profiles"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    for token in [&advisor, &customer] {
        let (status, problem) = post(
            &app,
            token,
            "/api/v1/brands/maison/crm/profiles",
            body.clone(),
        )
        .await;
        assert_eq!(status, 403, "{problem}");
        let (status, _) = merge(&app, token, a, &[b], false).await;
        assert_eq!(status, 403);
    }
    // A marketer of atelier: maison's paths are not found, and maison's profile ids are unknown in atelier.
    let (status, _) = post(
        &app,
        &atelier,
        "/api/v1/brands/maison/crm/profiles",
        body.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = merge(&app, &atelier, a, &[b], false).await;
    assert_eq!(status, 404);
    let (status, problem) = post(
        &app,
        &atelier,
        "/api/v1/brands/atelier/crm/merges",
        json!({"survivor_id": a, "absorbed_ids": [b]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(code(&problem), "not-found");
    // The same email in atelier is another person: a new profile there.
    let (status, other) = post(
        &app,
        &atelier,
        "/api/v1/brands/atelier/crm/profiles",
        json!({"identifiers": [{"kind": "email", "value": "a@example.com"}]}),
    )
    .await;
    assert_eq!(status, 201);
    assert_ne!(other["profile"]["id"], a.to_string());

    let (status, merged) = merge(&app, &maison, a, &[b], false).await;
    assert_eq!(status, 201);
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/brands/atelier/crm/merges/{merge_id}"),
        format!("/api/v1/brands/maison/crm/merges/{merge_id}"),
    ] {
        let (status, _) = get(&app, &atelier, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = post(
        &app,
        &atelier,
        &format!("/api/v1/brands/atelier/crm/merges/{merge_id}/unmerge"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = get(
        &app,
        &advisor,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}"),
    )
    .await;
    assert_eq!(status, 403);
    let still: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT unmerged_at IS NOT NULL FROM crm_merges WHERE id = $1::uuid")
            .bind(merge_id)
            .fetch_one(&app.db)
            .await
            .map(|undone: bool| if undone { None } else { Some(a) })
            .unwrap();
    assert_eq!(still, Some(a), "atelier could not undo maison's merge");
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/brands/maison/crm/merges"))
        .bearer_auth(&maison)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}
