//! Drafts: create, read, list, replace, delete; validation; launch idempotency; the recipients' pages.

use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

#[tokio::test]
async fn marketers_create_read_list_replace_and_delete_drafts() {
    let (app, token) = app().await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    let id = create(&app, &token, &body(audience, template)).await;
    let campaign = get(&app, &token, id).await;
    assert_eq!(campaign["status"], "draft");
    assert_eq!(campaign["template_version"], Value::Null);
    assert_eq!(campaign["throttle_per_sec"], 100.0);
    assert_eq!(campaign["counts"]["total"], 0);
    let mut changed = body(audience, template);
    changed["name"] = json!("Renamed");
    changed["retry_limit"] = json!(0);
    let response = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}")))
        .bearer_auth(&token)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        (replaced["name"].clone(), replaced["retry_limit"].clone()),
        (json!("Renamed"), json!(0))
    );
    let second = create(&app, &token, &body(audience, template)).await;
    let page =
        crate::helpers::get_json_as(&app, &token, "/api/v1/brands/maison/crm/campaigns?limit=1")
            .await;
    assert_eq!(page["items"][0]["id"], second.to_string(), "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = crate::helpers::get_json_as(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/campaigns?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(next["items"][0]["id"], id.to_string());
    assert_eq!(next["next_cursor"], Value::Null);
    let drafts = crate::helpers::get_json_as(
        &app,
        &token,
        "/api/v1/brands/maison/crm/campaigns?status=scheduled",
    )
    .await;
    assert_eq!(drafts["items"], json!([]));
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{second}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = crate::helpers::get_as(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/campaigns/{second}"),
    )
    .await;
    assert_eq!(gone.status(), 404);
}

async fn refused(app: &crate::helpers::TestApp, token: &str, body: &Value) -> (u16, Value) {
    let response = post(app, token, "/api/v1/brands/maison/crm/campaigns", body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn fields(problem: &Value) -> Vec<(String, String)> {
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

#[tokio::test]
async fn validation_refuses_foreign_segments_and_templates_mismatches_and_bad_numbers() {
    let (app, token) = app().await;
    let atelier = crate::helpers::marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    let foreign_segment = segment(&app, &atelier, "atelier", &[]).await;
    let foreign_template = template_id(&app, &atelier, "atelier", &sms_template("marketing")).await;
    let service_template = template_id(&app, &token, "maison", &sms_template("service")).await;
    let cases: Vec<(Value, (&str, &str))> = vec![
        (
            json!({ "segment_id": foreign_segment }),
            ("segment_id", "not_found"),
        ),
        (
            json!({ "segment_id": Uuid::now_v7() }),
            ("segment_id", "not_found"),
        ),
        (
            json!({ "template_id": foreign_template }),
            ("template_id", "not_found"),
        ),
        (
            json!({ "channel": "email" }),
            ("channel", "channel_mismatch"),
        ),
        (
            json!({ "template_id": service_template }),
            ("purpose", "purpose_mismatch"),
        ),
        (json!({ "purpose": "outreach" }), ("purpose", "invalid")),
        (
            json!({ "throttle_per_sec": 0 }),
            ("throttle_per_sec", "out_of_range"),
        ),
        (
            json!({ "throttle_per_sec": 1e12 }),
            ("throttle_per_sec", "out_of_range"),
        ),
        (
            json!({ "retry_limit": -1 }),
            ("retry_limit", "out_of_range"),
        ),
        (
            json!({ "retry_limit": 11 }),
            ("retry_limit", "out_of_range"),
        ),
        (json!({ "name": "  " }), ("name", "invalid")),
        (
            json!({ "send_at": "2999-01-01T00:00:00Z" }),
            ("send_at", "out_of_range"),
        ),
    ];
    for (tweak, (field, code)) in cases {
        let mut request = body(audience, template);
        request
            .as_object_mut()
            .unwrap()
            .extend(tweak.as_object().unwrap().clone());
        let (status, problem) = refused(&app, &token, &request).await;
        assert_eq!(status, 422, "{tweak}: {problem}");
        assert!(
            fields(&problem).contains(&(field.to_owned(), code.to_owned())),
            "{tweak}: {problem}"
        );
    }
    // Malformed bodies are 4xx problems, never 500.
    for bad in [
        json!({ "name": "x" }),
        json!({ "segment_id": "nope" }),
        json!({ "channel": "fax" }),
        json!({ "unknown": true }),
        json!({ "throttle_per_sec": "fast" }),
        json!({ "retry_limit": 1e40 }),
    ] {
        let mut request = body(audience, template);
        request
            .as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        if bad.get("name").is_some() {
            request = bad.clone();
        }
        let (status, _) = refused(&app, &token, &request).await;
        assert!((400..500).contains(&status), "{bad}: {status}");
    }
}

#[tokio::test]
async fn launch_needs_a_key_replays_its_result_and_launches_a_draft_only_once() {
    let (app, token) = app().await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    let id = create(&app, &token, &body(audience, template)).await;
    let other = create(&app, &token, &body(audience, template)).await;
    let no_key = action(&app, &token, id, "launch").await;
    assert_eq!(no_key.status(), 400);
    let first = launch(&app, &token, id, "launch-once").await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "scheduled");
    assert_eq!(first["template_version"], 1);
    assert!(first["send_at"].is_string(), "now when absent");
    let replay = launch(&app, &token, id, "launch-once").await;
    assert_eq!(replay.status(), 200);
    assert_eq!(
        replay
            .headers()
            .get("Idempotent-Replayed")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("true".into())
    );
    assert_eq!(
        replay.json::<Value>().await.unwrap(),
        first,
        "the same result"
    );
    let reused = launch(&app, &token, other, "launch-once").await;
    assert_eq!(reused.status(), 422);
    assert!(
        reused
            .text()
            .await
            .unwrap()
            .contains("idempotency-key-reused")
    );
    assert_eq!(
        get(&app, &token, other).await["status"],
        "draft",
        "nothing launched"
    );
    let twice = launch(&app, &token, id, "another-key").await;
    assert_eq!(twice.status(), 409);
    assert!(
        twice
            .text()
            .await
            .unwrap()
            .contains("campaign-transition-invalid")
    );
    let edit = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}")))
        .bearer_auth(&token)
        .json(&body(audience, template))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 409);
    assert!(edit.text().await.unwrap().contains("campaign-not-draft"));
    let delete = app
        .client
        .delete(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 409);
    // A template deleted after the draft was made: the launch says so.
    let doomed = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let draft = create(&app, &token, &body(audience, doomed)).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/brands/maison/crm/templates/{doomed}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let launched = launch(&app, &token, draft, "doomed").await;
    assert_eq!(launched.status(), 422);
}

#[tokio::test]
async fn recipients_are_paged_by_a_keyset_cursor_filtered_by_status_and_bounded() {
    let (app, token) = app().await;
    let mut people = Vec::new();
    for i in 50..55 {
        people.push(reachable(&app, &token, i).await);
    }
    people.push(profile(&app, &token, "maison", json!({ "phone": phone(55) })).await);
    let (_, id) = frozen(&app, &token, &people, json!({})).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let page = crate::helpers::get_json_as(
            &app,
            &token,
            &format!("/api/v1/brands/maison/crm/campaigns/{id}/recipients?limit=2{query}"),
        )
        .await;
        for item in page["items"].as_array().unwrap() {
            seen.push(
                item["profile_id"]
                    .as_str()
                    .unwrap()
                    .parse::<Uuid>()
                    .unwrap(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = people.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "every recipient once, by profile id");
    assert_eq!(
        recipients(&app, &token, id, "&status=queued").await.len(),
        5
    );
    assert_eq!(
        recipients(&app, &token, id, "&status=suppressed")
            .await
            .len(),
        1
    );
    for (query, status) in [
        ("limit=0", 422),
        ("limit=101", 422),
        ("status=bogus", 422),
        ("cursor=!!", 400),
        ("cursor=bm90LWEtdXVpZA", 400),
        ("other=1", 400),
    ] {
        let response = crate::helpers::get_as(
            &app,
            &token,
            &format!("/api/v1/brands/maison/crm/campaigns/{id}/recipients?{query}"),
        )
        .await;
        assert_eq!(response.status().as_u16(), status, "{query}");
    }
}
