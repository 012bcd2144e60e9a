//! Who reaches scores and rules (the brand's marketers and admins; another brand's data is a 404), and bad
//! input answered with 4xx problems.

use serde_json::Value;

use super::{clock, default_rules, purchase, put_rules, scores, send};
use crate::helpers::{admin_token, get_as, marketer_token, spawn_app, staff, token_of};

#[tokio::test]
async fn scores_and_rules_are_for_the_brands_marketers_and_admins_only() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let admin = admin_token(&app, "admin@concierge.example").await;
    clock(&app, "2026-06-01T12:00:00Z");
    let jane = send(
        &app,
        &maison,
        vec![purchase(
            "p-1",
            "jane@example.com",
            "2026-06-01T10:00:00Z",
            "10.00",
        )],
    )
    .await;
    let advisor = token_of(
        &staff(
            &app,
            "adv@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let manager = token_of(
        &staff(
            &app,
            "mgr@maison.example",
            "manager",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let paths = [
        format!("/api/v1/brands/maison/crm/profiles/{jane}/scores"),
        format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history"),
        "/api/v1/brands/maison/crm/score-rules".to_owned(),
        "/api/v1/brands/maison/crm/score-rules/versions".to_owned(),
    ];
    for path in &paths {
        assert_eq!(get_as(&app, &maison, path).await.status(), 200, "{path}");
        assert_eq!(get_as(&app, &admin, path).await.status(), 200, "{path}");
        for token in [&advisor, &manager] {
            assert_eq!(get_as(&app, token, path).await.status(), 403, "{path}");
        }
        // Another brand's marketer: the brand is not theirs.
        assert_eq!(get_as(&app, &atelier, path).await.status(), 404, "{path}");
        let anonymous = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
    }
    // Through their own brand's path, maison's profile does not exist.
    let (status, body) = scores(&app, &atelier, "atelier", &jane).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not-found");
    let history = get_as(
        &app,
        &atelier,
        &format!("/api/v1/brands/atelier/crm/profiles/{jane}/scores/history"),
    )
    .await;
    assert_eq!(history.status(), 404);

    // Writing rules: the same.
    let rules = default_rules();
    for token in [&advisor, &manager] {
        assert_eq!(put_rules(&app, token, "maison", &rules).await.0, 403);
    }
    assert_eq!(put_rules(&app, &atelier, "maison", &rules).await.0, 404);
    let anonymous = app
        .client
        .put(app.url("/api/v1/brands/maison/crm/score-rules"))
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let (status, saved) = put_rules(&app, &admin, "maison", &rules).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 1);
    // Atelier's rules were not touched by any of it.
    let theirs: Value = get_as(&app, &atelier, "/api/v1/brands/atelier/crm/score-rules")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["version"], 0);
}

#[tokio::test]
async fn bad_ids_cursors_and_filters_are_4xx_problems() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-06-01T12:00:00Z");
    let jane = send(
        &app,
        &token,
        vec![purchase(
            "p-1",
            "jane@example.com",
            "2026-06-01T10:00:00Z",
            "10.00",
        )],
    )
    .await;
    let unknown = uuid::Uuid::now_v7();
    for (path, expected) in [
        (
            "/api/v1/brands/maison/crm/profiles/not-a-uuid/scores".to_owned(),
            404,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{unknown}/scores"),
            404,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{unknown}/scores/history"),
            404,
        ),
        (
            format!("/api/v1/brands/nope/crm/profiles/{jane}/scores"),
            404,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?cursor=garbage!"),
            400,
        ),
        // "0" and "-5", base64: ids are positive.
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?cursor=MA"),
            400,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?cursor=LTU"),
            400,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?limit=0"),
            422,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?limit=abc"),
            400,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?score=loyalty"),
            422,
        ),
        (
            format!(
                "/api/v1/brands/maison/crm/profiles/{jane}/scores/history?score=%27%20OR%201=1--"
            ),
            422,
        ),
        (
            format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?bogus=1"),
            400,
        ),
    ] {
        let response = get_as(&app, &token, &path).await;
        assert_eq!(response.status().as_u16(), expected, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem["code"].is_string(), "{path}: {problem}");
    }
}

#[tokio::test]
async fn a_brand_scores_only_its_own_activities_and_a_merged_away_id_reads_the_survivors() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    clock(&app, "2026-06-01T12:00:00Z");
    let in_maison = send(
        &app,
        &maison,
        vec![
            purchase("p-1", "jane@example.com", "2026-06-01T10:00:00Z", "10.00"),
            purchase("p-2", "jane@example.com", "2026-06-01T11:00:00Z", "10.00"),
        ],
    )
    .await;
    // The same person and event ids in atelier: one page view there, nothing of maison's purchases.
    let answer = crate::crm_events::ingest(
        &app,
        &atelier,
        "atelier",
        &serde_json::json!([crate::crm_events::page_view(
            "p-1",
            "jane@example.com",
            "2026-06-01T10:00:00Z"
        )]),
    )
    .await;
    let in_atelier = crate::crm_events::profile_of(&answer, 0);
    let (_, theirs) = scores(&app, &atelier, "atelier", &in_atelier).await;
    assert_eq!(theirs["scores"]["engagement"]["value"], 1, "{theirs}");
    let (_, ours) = scores(&app, &maison, "maison", &in_maison).await;
    assert_eq!(ours["scores"]["engagement"]["value"], 50, "{ours}");

    // Another maison profile merged into jane's: its id answers with jane's scores.
    let other = send(
        &app,
        &maison,
        vec![purchase(
            "p-3",
            "jd@example.com",
            "2026-06-01T11:30:00Z",
            "10.00",
        )],
    )
    .await;
    let merged = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/merges"))
        .bearer_auth(&maison)
        .json(&serde_json::json!({"survivor_id": in_maison, "absorbed_ids": [other]}))
        .send()
        .await
        .unwrap();
    assert!(
        merged.status().is_success(),
        "{}",
        merged.text().await.unwrap()
    );
    let (status, body) = scores(&app, &maison, "maison", &other).await;
    assert_eq!(status, 200);
    assert_eq!(body["profile_id"], in_maison.as_str());
}
