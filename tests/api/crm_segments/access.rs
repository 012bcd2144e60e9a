//! Marketers of the brand (and admins) only; another brand's segments and profiles are out of reach.

use reqwest::Method;
use serde_json::json;

use super::{brand_id, call, create, get, members, post, preview, profile, refresh, sample_ids};
use crate::helpers::{marketer_token, spawn_app, staff, token_of};

#[tokio::test]
async fn a_rule_never_sees_another_brands_profiles() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier_id = brand_id(&app, "atelier").await;
    let maison_id = brand_id(&app, "maison").await;
    let ours = profile(&app, maison_id, json!({"tier": "gold"})).await;
    profile(&app, atelier_id, json!({"tier": "gold"})).await;
    let rule = json!({"attribute": "tier", "op": "eq", "value": "gold"});
    let (_, answer) = preview(&app, &maison, "maison", &rule).await;
    assert_eq!(sample_ids(&answer), vec![ours]);
    let segment = create(
        &app,
        &maison,
        "maison",
        &json!({"slug": "gold", "name": "Gold", "rule": rule}),
    )
    .await;
    let id = segment["id"].as_str().unwrap();
    refresh(&app, &maison, "maison", id).await;
    assert_eq!(members(&app, id).await, vec![ours]);
}

#[tokio::test]
async fn another_brand_advisors_customers_and_anonymous_callers_are_refused() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
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
    let maison_id = brand_id(&app, "maison").await;
    let someone = profile(&app, maison_id, json!({"tier": "gold"})).await;
    let segment = create(
        &app,
        &maison,
        "maison",
        &json!({"slug": "gold", "name": "Gold", "kind": "static"}),
    )
    .await;
    let id = segment["id"].as_str().unwrap();
    let name = json!({"name": "x"});
    let add = json!({"add": [someone]});
    let rule = json!({"rule": {"attribute": "tier", "op": "exists"}});
    let new = json!({"slug": "intruder", "name": "x", "kind": "static"});
    let paths: Vec<(Method, String, Option<&serde_json::Value>)> = vec![
        (
            Method::GET,
            format!("/api/v1/brands/maison/crm/segments/{id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/brands/maison/crm/segments/{id}"),
            Some(&name),
        ),
        (
            Method::DELETE,
            format!("/api/v1/brands/maison/crm/segments/{id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/brands/maison/crm/segments/{id}/members"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/brands/maison/crm/segments/{id}/members"),
            Some(&add),
        ),
        (
            Method::GET,
            format!("/api/v1/brands/maison/crm/segments/{id}/history"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/brands/maison/crm/segments/{id}/versions"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/brands/maison/crm/segments/{id}/refresh"),
            None,
        ),
        (
            Method::GET,
            "/api/v1/brands/maison/crm/segments".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/brands/maison/crm/segments".to_owned(),
            Some(&new),
        ),
        (
            Method::POST,
            "/api/v1/brands/maison/crm/segments/preview".to_owned(),
            Some(&rule),
        ),
        (
            Method::GET,
            format!("/api/v1/brands/maison/crm/profiles/{someone}/segments"),
            None,
        ),
    ];
    for (method, path, body) in &paths {
        let (status, _) = call(&app, &atelier, method.clone(), path, *body).await;
        assert_eq!(status, 404, "another brand's marketer: {method} {path}");
        let (status, _) = call(&app, &advisor, method.clone(), path, *body).await;
        assert_eq!(status, 403, "a client advisor: {method} {path}");
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            401,
            "anonymous: {method} {path}"
        );
    }
    // Through its own brand's path, another brand's segment id is unknown.
    for path in [
        format!("/api/v1/brands/atelier/crm/segments/{id}"),
        format!("/api/v1/brands/atelier/crm/segments/{id}/members"),
    ] {
        let (status, _) = get(&app, &atelier, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = post(
        &app,
        &atelier,
        &format!("/api/v1/brands/atelier/crm/segments/{id}/members"),
        &json!({"add": [someone]}),
    )
    .await;
    assert_eq!(status, 404);
    // And a rule cannot name another brand's segment.
    let (status, answer) = preview(
        &app,
        &atelier,
        "atelier",
        &json!({"segment": "gold", "is": "member"}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(members(&app, id).await.is_empty());
}
