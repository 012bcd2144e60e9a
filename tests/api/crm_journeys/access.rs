//! Who may touch a journey, what is refused at save, versions, pause, and the dry-run's lack of effects.

use serde_json::json;

use super::{noon, post, published, reachable, sms, welcome};
use crate::helpers::{get_as, marketer_token, problem, spawn_sandboxed_app, staff, token_of};

#[tokio::test]
async fn another_brand_advisors_customers_and_anonymous_callers_are_refused() {
    let app = spawn_sandboxed_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let template = sms(&app, &token, "Hi").await;
    let journey = published(&app, &token, welcome(template, template, 60)).await;
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
    for (who, token, path, expected) in [
        (
            "atelier",
            atelier.as_str(),
            format!("/api/v1/brands/maison/crm/journeys/{journey}"),
            404,
        ),
        (
            "atelier, own brand",
            atelier.as_str(),
            format!("/api/v1/brands/atelier/crm/journeys/{journey}"),
            404,
        ),
        (
            "atelier, enrollments",
            atelier.as_str(),
            format!("/api/v1/brands/atelier/crm/journeys/{journey}/enrollments"),
            404,
        ),
        (
            "advisor",
            advisor.as_str(),
            format!("/api/v1/brands/maison/crm/journeys/{journey}"),
            403,
        ),
        (
            "anonymous",
            "",
            format!("/api/v1/brands/maison/crm/journeys/{journey}"),
            401,
        ),
    ] {
        let response = if token.is_empty() {
            app.get(&path).await
        } else {
            get_as(&app, token, &path).await
        };
        assert_eq!(response.status(), expected, "{who}");
    }
    // Another brand's marketer cannot publish, pause or dry-run it either.
    for action in ["publish", "pause", "dry-run"] {
        let (status, _) = post(
            &app,
            &atelier,
            &format!("/api/v1/brands/atelier/crm/journeys/{journey}/{action}"),
            &json!({ "profile_id": journey }),
        )
        .await;
        assert_eq!(status, 404, "{action}");
    }
    // Nor use maison's template in a journey of its own.
    let (status, body) = post(
        &app,
        &atelier,
        "/api/v1/brands/atelier/crm/journeys",
        &json!({ "name": "Stolen", "definition": welcome(template, template, 60) }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"]
            .to_string()
            .contains("definition/steps/0/template_id"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bad_definition_is_a_422_naming_each_field() {
    let app = spawn_sandboxed_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let template = sms(&app, &token, "Hi").await;
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/journeys"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Bad", "definition": {
            "trigger": { "type": "segment_entry", "segment_id": template },
            "start": "a",
            "steps": [
                { "type": "send", "id": "a", "template_id": template, "channel": "email", "purpose": "service", "next": "b" },
                { "type": "condition", "id": "b", "rule": { "attribute": "nope", "op": "eq", "value": 1 }, "yes": "a", "no": "ghost" },
                { "type": "add_tag", "id": "island", "tag": "x", "next": null }
            ]
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    let fields: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "definition/trigger/segment_id unknown_segment",
        "definition/steps/0/channel channel_mismatch",
        "definition/steps/0/purpose purpose_mismatch",
        "definition/steps/1/no unknown_step",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} in {fields:?}"
        );
    }
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("definition/steps/1/rule")),
        "{fields:?}"
    );
    // A loop with no wait, and an unreachable step.
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/journeys",
        &json!({ "name": "Loop", "definition": {
        "trigger": { "type": "event", "event": "signup" }, "start": "a",
        "steps": [
            { "type": "add_tag", "id": "a", "tag": "x", "next": "b" },
            { "type": "add_tag", "id": "b", "tag": "y", "next": "a" },
            { "type": "add_tag", "id": "c", "tag": "z", "next": null }
        ]}}),
    )
    .await;
    assert_eq!(status, 422);
    let text = body["errors"].to_string();
    assert!(
        text.contains("cycle_without_wait") && text.contains("unreachable"),
        "{body}"
    );
    // Malformed shapes are 4xx problems, never 500.
    for definition in [
        json!({}),
        json!({"trigger": {"type": "telepathy"}}),
        json!("x"),
    ] {
        let (status, _) = post(
            &app,
            &token,
            "/api/v1/brands/maison/crm/journeys",
            &json!({ "name": "X", "definition": definition }),
        )
        .await;
        assert!((400..500).contains(&status), "{status}");
    }
}

#[tokio::test]
async fn publishing_makes_versions_a_published_journey_is_not_deleted_and_pause_needs_a_version() {
    let app = spawn_sandboxed_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let template = sms(&app, &token, "Hi").await;
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/journeys",
        &json!({ "name": "W", "definition": welcome(template, template, 60) }),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["status"], "draft");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{id}/pause"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("journey-not-published")
    );
    let (_, first) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{id}/publish"),
        &json!({}),
    )
    .await;
    assert_eq!(first["published_version"], 1);
    assert_eq!(first["status"], "active");
    assert_eq!(
        first["published"]["steps"][0]["template_version"], 1,
        "pinned: {first}"
    );
    let response = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/journeys/{id}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "W2", "definition": welcome(template, template, 120) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let edited: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        edited["published"]["steps"][1]["duration_secs"], 60,
        "the version is unchanged by an edit"
    );
    let (_, second) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{id}/publish"),
        &json!({}),
    )
    .await;
    assert_eq!(second["published_version"], 2);
    assert_eq!(second["published"]["steps"][1]["duration_secs"], 120);
    let (status, paused) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{id}/pause"),
        &json!({}),
    )
    .await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("paused")));
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/brands/maison/crm/journeys/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}

#[tokio::test]
async fn a_dry_run_shows_the_path_and_sends_or_writes_nothing() {
    let app = spawn_sandboxed_app().await;
    noon(&app);
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let template = sms(&app, &token, "Hi").await;
    let (profile, _, phone) = reachable(&app, &token, 1).await;
    let journey = published(&app, &token, json!({
        "trigger": { "type": "event", "event": "signup" }, "start": "gold",
        "steps": [
            { "type": "condition", "id": "gold", "rule": { "attribute": "tier", "op": "eq", "value": "gold" }, "yes": "tag", "no": "hello" },
            { "type": "send", "id": "hello", "template_id": template, "channel": "sms", "purpose": "marketing", "next": "tag" },
            { "type": "add_tag", "id": "tag", "tag": "seen", "next": "emit" },
            { "type": "emit", "id": "emit", "name": "welcomed", "next": null }
        ]})).await;
    let outbox_before: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (status, run) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/dry-run"),
        &json!({ "profile_id": profile }),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    let outcomes: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["no", "would_send", "would_tag", "would_emit"],
        "{run}"
    );
    assert_eq!(run["ends"], "completed");
    assert!(
        app.sandbox().messages_to(&phone).await.is_empty(),
        "nothing sent"
    );
    let enrollments: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_journey_enrollments")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(enrollments, 0);
    let tags: Vec<String> = sqlx::query_scalar("SELECT tags FROM crm_profiles WHERE id = $1")
        .bind(profile)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(tags.is_empty(), "{tags:?}");
    let outbox_after: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(outbox_before, outbox_after);
    // Another brand's profile is not found.
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/dry-run"),
        &json!({ "profile_id": journey }),
    )
    .await;
    assert_eq!(status, 404);
}
