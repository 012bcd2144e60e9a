//! `PATCH …/crm/profiles/{id}`: a JSON merge patch of built-in and declared custom attributes.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{assert_refused, brand_id, code, merge_away, outsiders, profile, send};
use crate::helpers::{TestApp, marketer_token, problem, spawn_app};

const BASE: &str = "/api/v1/brands/maison/crm/profiles";

async fn patch(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("{BASE}/{id}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn declare(app: &TestApp, token: &str, body: Value) {
    let response = send(
        app,
        Method::POST,
        Some(token),
        "/api/v1/brands/maison/crm/attributes",
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201);
}

async fn updates(app: &TestApp, id: uuid::Uuid) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.profile.updated' AND aggregate_id = $1 ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_merge_patch_sets_and_removes_attributes_and_announces_what_changed() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    declare(&app, &token, json!({ "name": "vip_since", "type": "date" })).await;
    declare(
        &app,
        &token,
        json!({ "name": "sizes", "type": "string_list", "enum_values": ["s", "m", "l"] }),
    )
    .await;
    declare(
        &app,
        &token,
        json!({ "name": "spend_goal", "type": "number" }),
    )
    .await;
    let id = profile(
        &app,
        "maison",
        &[("email", "jane@example.com")],
        json!({ "first_name": "Jane", "city": "Paris", "tier": "gold", "tags": ["a"] }),
    )
    .await;

    let response = patch(
        &app,
        &token,
        id,
        "application/merge-patch+json",
        r#"{"attributes": {"city": "Lyon", "tier": null, "country": "fr", "email": "Jane@Example.COM",
                           "tags": ["vip", "b", "vip"], "first_name": "Jane"},
            "custom": {"vip_since": "2024-01-02", "sizes": ["m", "s"], "spend_goal": 1500.5}}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id.to_string());
    let attributes = &body["attributes"];
    assert_eq!(attributes["city"], "Lyon");
    assert!(attributes.get("tier").is_none(), "removed");
    assert_eq!(attributes["country"], "FR");
    assert_eq!(attributes["email"], "jane@example.com");
    assert_eq!(attributes["tags"], json!(["b", "vip"]), "replaced whole");
    assert_eq!(attributes["first_name"], "Jane");
    assert_eq!(
        body["custom"],
        json!({ "vip_since": "2024-01-02", "sizes": ["m", "s"], "spend_goal": 1500.5 })
    );

    let events = updates(&app, id).await;
    assert_eq!(events.len(), 1);
    let mut fields: Vec<&str> = events[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "city",
            "country",
            "email",
            "sizes",
            "spend_goal",
            "tags",
            "tier",
            "vip_since"
        ],
        "first_name did not change"
    );
    assert_eq!(events[0]["brand"], "maison");

    let times: Value = sqlx::query_scalar("SELECT attribute_times FROM crm_profiles WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(times.get("city").is_some() && times.get("vip_since").is_some());
    assert!(
        times.get("tier").is_none(),
        "a removed attribute has no time"
    );

    // `application/json` works too; removing a custom value; a patch that changes nothing announces nothing.
    let response = patch(
        &app,
        &token,
        id,
        "application/json",
        r#"{"custom": {"sizes": null}}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["custom"].get("sizes").is_none());
    let response = patch(
        &app,
        &token,
        id,
        "application/json; charset=utf-8",
        r#"{"attributes": {"city": "Lyon"}}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(updates(&app, id).await.len(), 2);
}

#[tokio::test]
async fn bad_patches_are_problems_and_change_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    declare(&app, &token, json!({ "name": "vip_since", "type": "date" })).await;
    declare(
        &app,
        &token,
        json!({ "name": "colour", "type": "string", "enum_values": ["red"] }),
    )
    .await;
    let id = profile(
        &app,
        "maison",
        &[("email", "jane@example.com")],
        json!({ "city": "Paris" }),
    )
    .await;

    let response = patch(
        &app,
        &token,
        id,
        "application/merge-patch+json",
        r#"{"attributes": {"city": "Lyon", "email": "nope", "phone": "0612", "birthday": "2999-01-01",
                           "country": "XX", "nickname": "J", "tags": [""], "first_name": 3},
            "custom": {"vip_since": 12, "colour": "blue", "shoe_size": 42}, "brand": "atelier"}"#,
    )
    .await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    let mut fields: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "attributes.birthday:invalid_date",
            "attributes.country:invalid_country",
            "attributes.email:invalid_email",
            "attributes.first_name:invalid_type",
            "attributes.nickname:unknown_attribute",
            "attributes.phone:invalid_phone",
            "attributes.tags:invalid_tags",
            "brand:unknown_field",
            "custom.colour:not_allowed_value",
            "custom.shoe_size:undeclared_attribute",
            "custom.vip_since:invalid_type",
        ]
    );
    for (content_type, body, status, expected) in [
        (
            "application/merge-patch+json",
            "{not json",
            400,
            "malformed-json",
        ),
        (
            "text/plain",
            r#"{"attributes": {}}"#,
            415,
            "unsupported-media-type",
        ),
        ("application/json", "[1, 2]", 422, "validation-failed"),
        (
            "application/json",
            r#"{"attributes": null}"#,
            422,
            "validation-failed",
        ),
    ] {
        let response = patch(&app, &token, id, content_type, body).await;
        assert_eq!(response.status(), status, "{content_type} {body}");
        assert_eq!(code(&problem(response).await), expected);
    }
    let city: Option<String> = sqlx::query_scalar("SELECT city FROM crm_profiles WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(city.as_deref(), Some("Paris"));
    assert!(updates(&app, id).await.is_empty());

    // Another brand's declarations do not count here.
    let atelier = brand_id(&app, "atelier").await;
    sqlx::query("INSERT INTO crm_attribute_definitions (brand_id, name, type, created_by) VALUES ($1, 'shoe_size', 'number', 'test')")
        .bind(atelier)
        .execute(&app.db)
        .await
        .unwrap();
    let response = patch(
        &app,
        &token,
        id,
        "application/json",
        r#"{"custom": {"shoe_size": 42}}"#,
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_merged_away_or_foreign_profile_is_not_patched_and_outsiders_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let survivor = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let absorbed = profile(
        &app,
        "maison",
        &[("email", "j.doe@example.com")],
        json!({ "city": "Nice" }),
    )
    .await;
    merge_away(&app, absorbed, survivor).await;
    let theirs = profile(&app, "atelier", &[("email", "ana@example.com")], json!({})).await;
    let body = r#"{"attributes": {"city": "Lyon"}}"#;

    let response = patch(&app, &token, absorbed, "application/json", body).await;
    assert_eq!(response.status(), 409);
    let problem_body = problem(response).await;
    assert_eq!(code(&problem_body), "profile-merged");
    assert!(
        problem_body["detail"]
            .as_str()
            .unwrap()
            .contains(&survivor.to_string())
    );
    for id in [
        theirs.to_string(),
        uuid::Uuid::now_v7().to_string(),
        "x".to_owned(),
    ] {
        let response = patch(&app, &token, &id, "application/json", body).await;
        assert_eq!(response.status(), 404, "{id}");
    }
    let city: Option<String> = sqlx::query_scalar("SELECT city FROM crm_profiles WHERE id = $1")
        .bind(theirs)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(city, None);

    let outsiders = outsiders(&app).await;
    assert_refused(
        &app,
        &outsiders,
        Method::PATCH,
        &format!("{BASE}/{survivor}"),
        Some(json!({ "attributes": { "city": "Lyon" } })),
    )
    .await;
}
