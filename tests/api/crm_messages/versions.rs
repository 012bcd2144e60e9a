//! `…/crm/templates/{id}/versions`: every saved version, newest first and paged, each readable whole (a
//! deleted template's too, for the sends pinned to it); another brand's, an advisor's or an anonymous
//! request is refused.

use reqwest::Method;
use serde_json::{Value, json};

use super::{sms_template, template_id};
use crate::helpers::{get_as, marketer_token, problem, spawn_app, staff, token_of};

#[tokio::test]
async fn a_marketer_lists_a_templates_versions_and_reads_the_one_a_send_pinned() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let path = format!("/api/v1/brands/maison/crm/templates/{id}");
    for n in 2..=3 {
        let mut next = sms_template("marketing");
        next["name"] = json!(format!("Hello v{n}"));
        next["variants"] = json!([
            { "language": "en", "body": format!("Version {n}, {{{{ profile.first_name }}}}") },
            { "language": "fr", "body": format!("Version {n}") }
        ]);
        let response = app
            .client
            .put(app.url(&path))
            .bearer_auth(&token)
            .json(&next)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let page: Value = get_as(&app, &token, &format!("{path}/versions"))
        .await
        .json()
        .await
        .unwrap();
    let versions: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    assert_eq!(page["items"][0]["languages"], json!(["en", "fr"]));
    assert_eq!(page["items"][2]["name"], "Hello");
    assert!(page["items"][0].get("variants").is_none(), "no bodies");
    assert!(page["next_cursor"].is_null());
    // Paged.
    let first: Value = get_as(&app, &token, &format!("{path}/versions?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value = get_as(
        &app,
        &token,
        &format!("{path}/versions?limit=2&cursor={cursor}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rest["items"][0]["version"], 1);
    assert!(rest["next_cursor"].is_null());
    // One version whole, as it was saved, after the template is gone.
    let deleted = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let one: Value = get_as(&app, &token, &format!("{path}/versions/1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["version"], 1);
    assert_eq!(one["variants"], sms_template("marketing")["variants"]);
    let listed = get_as(&app, &token, &format!("{path}/versions")).await;
    assert_eq!(listed.status(), 200, "a deleted template's versions stay");
}

#[tokio::test]
async fn unknown_versions_templates_and_cursors_are_problems() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let base = format!("/api/v1/brands/maison/crm/templates/{id}");
    for (path, expected) in [
        (format!("{base}/versions/2"), 404),
        (format!("{base}/versions/0"), 404),
        (format!("{base}/versions/-1"), 404),
        (format!("{base}/versions/99999999999"), 404),
        (format!("{base}/versions/one"), 404),
        (
            format!(
                "/api/v1/brands/maison/crm/templates/{}/versions",
                uuid::Uuid::now_v7()
            ),
            404,
        ),
        (
            "/api/v1/brands/maison/crm/templates/not-a-uuid/versions".into(),
            404,
        ),
        (format!("{base}/versions?cursor=bm90LWEtbnVtYmVy"), 400),
        (format!("{base}/versions?cursor=%%%"), 400),
        (format!("{base}/versions?limit=0"), 422),
        (format!("{base}/versions?limit=101"), 422),
        (format!("{base}/versions?sort=asc"), 400),
    ] {
        let response = get_as(&app, &token, &path).await;
        let status = response.status().as_u16();
        let body = problem(response).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
}

#[tokio::test]
async fn another_brand_an_advisor_or_an_anonymous_caller_never_reads_versions() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &sms_template("marketing")).await;
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
    for (who, token, brand, expected) in [
        ("atelier marketer", atelier.as_str(), "maison", 404),
        (
            "atelier marketer, own brand",
            atelier.as_str(),
            "atelier",
            404,
        ),
        ("advisor", advisor.as_str(), "maison", 403),
        ("anonymous", "", "maison", 401),
    ] {
        for suffix in ["versions", "versions/1"] {
            let path = format!("/api/v1/brands/{brand}/crm/templates/{id}/{suffix}");
            let mut request = app.client.request(Method::GET, app.url(&path));
            if !token.is_empty() {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, expected, "{who} {path}");
        }
    }
}
