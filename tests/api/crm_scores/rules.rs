//! The brand's rules: the defaults until it saves its own, every change a new version (kept), checked with
//! field errors that point into the document, and used by the next computation.

use serde_json::{Value, json};

use super::{clock, default_rules, purchase, put_rules, scores_of, send};
use crate::helpers::{get_as, marketer_token, spawn_app};

async fn get_json(app: &crate::helpers::TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = get_as(app, token, path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn each_change_is_a_new_version_used_by_the_next_computation_and_brands_stay_apart() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let (status, current) = get_json(&app, &maison, "/api/v1/brands/maison/crm/score-rules").await;
    assert_eq!(status, 200);
    assert_eq!(current["version"], 0);
    assert_eq!(current["rules"], default_rules());
    assert_eq!(current["created_by"], Value::Null);

    let mut rules = default_rules();
    rules["engagement"]["saturation"] = json!(50.0);
    let (status, first) = put_rules(&app, &maison, "maison", &rules).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["version"], 1);
    assert!(first["created_by"].as_str().unwrap().starts_with("user:"));
    rules["engagement"]["activities"]["purchase"]["points"] = json!(20.0);
    let (_, second) = put_rules(&app, &maison, "maison", &rules).await;
    assert_eq!(second["version"], 2);
    let (_, current) = get_json(&app, &maison, "/api/v1/brands/maison/crm/score-rules").await;
    assert_eq!(current["version"], 2);
    assert_eq!(current["rules"], rules);
    let (status, versions) = get_json(
        &app,
        &maison,
        "/api/v1/brands/maison/crm/score-rules/versions",
    )
    .await;
    assert_eq!(status, 200);
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(
        versions["items"][1]["rules"]["engagement"]["activities"]["purchase"]["points"],
        25.0
    );

    // Another brand keeps the defaults.
    let (_, theirs) = get_json(&app, &atelier, "/api/v1/brands/atelier/crm/score-rules").await;
    assert_eq!(theirs["version"], 0);

    // 20 points out of a saturation of 50.
    clock(&app, "2026-06-01T12:00:00Z");
    let jane = send(
        &app,
        &maison,
        vec![purchase(
            "p-1",
            "jane@example.com",
            "2026-06-01T12:00:00Z",
            "10.00",
        )],
    )
    .await;
    let scores = scores_of(&app, &maison, &jane).await;
    assert_eq!(scores["engagement"]["value"], 40, "{scores}");
    assert_eq!(scores["engagement"]["rules_version"], 2);
    assert_eq!(scores["churn_risk"]["rules_version"], 2);
}

#[tokio::test]
async fn concurrent_saves_each_get_their_own_version() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let rules = default_rules();
    let saves = (0..5).map(|_| put_rules(&app, &token, "maison", &rules));
    let mut versions: Vec<i64> = futures::future::join_all(saves)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            body["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn bad_rules_are_refused_with_field_errors_pointing_into_the_document() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut rules = default_rules();
    rules["engagement"]["half_life_days"] = json!(0);
    cases.push((rules, "/engagement/half_life_days"));
    let mut rules = default_rules();
    rules["engagement"]["activities"]["Robert'); DROP TABLE crm_scores;--"] =
        json!({"points": 1, "max_per_day": 1, "cap": 1});
    cases.push((
        rules,
        "/engagement/activities/Robert'); DROP TABLE crm_scores;--",
    ));
    let mut rules = default_rules();
    rules["churn"]["negative"]["support_case_opened"]["points"] = json!(1e300);
    cases.push((rules, "/churn/negative/support_case_opened/points"));
    let mut rules = default_rules();
    rules["churn"]["recency_full_ratio"] = json!(1);
    cases.push((rules, "/churn/recency_full_ratio"));
    let mut rules = default_rules();
    rules["churn"]["period_days"] = json!(-3);
    cases.push((rules, "/churn/period_days"));
    let mut rules = default_rules();
    for n in 0..60 {
        rules["engagement"]["activities"][format!("kind_{n}")] =
            json!({"points": 1, "max_per_day": 1, "cap": 1});
    }
    cases.push((rules, "/engagement/activities"));
    for (rules, field) in cases {
        let (status, body) = put_rules(&app, &token, "maison", &rules).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(body["code"], "validation-failed");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    // Not the shape of the rules at all.
    let mut unknown = default_rules();
    unknown["engagement"]["bonus"] = json!(1);
    let mut missing = default_rules();
    missing["churn"].as_object_mut().unwrap().remove("opt_out");
    let mut mistyped = default_rules();
    mistyped["engagement"]["window_days"] = json!("a year");
    let mut huge = default_rules();
    huge["engagement"]["window_days"] = json!(1e12);
    for body in [unknown, missing, mistyped, huge, json!([]), json!(null)] {
        let (status, answer) = put_rules(&app, &token, "maison", &body).await;
        assert!(
            (400..500).contains(&status),
            "{body} answered {status} {answer}"
        );
        assert!(answer["code"].is_string(), "a problem: {answer}");
    }
    let raw = app
        .client
        .put(app.url("/api/v1/brands/maison/crm/score-rules"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    // Nothing was saved.
    let (_, current) = get_json(&app, &token, "/api/v1/brands/maison/crm/score-rules").await;
    assert_eq!(current["version"], 0);
}
