//! Saving, versions, refresh diffs, history, the outbox, nesting and cycles, static segments.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{brand_id, call, create, get, members, post, profile, refresh, sorted};
use crate::helpers::{TestApp, marketer_token, spawn_app};

async fn outbox(app: &TestApp, segment: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.segment.membership.changed'
         AND aggregate_id = $1 ORDER BY seq",
    )
    .bind(segment)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn ids(value: &Value) -> Vec<Uuid> {
    sorted(
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().parse().unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn a_refresh_writes_exactly_the_entries_and_exits_and_a_second_one_writes_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let gold = profile(&app, maison, json!({"tier": "gold"})).await;
    let silver = profile(&app, maison, json!({"tier": "silver"})).await;
    let other = profile(&app, maison, json!({"tier": "silver"})).await;
    let segment = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await;
    assert_eq!(segment["version"], 1);
    assert_eq!(segment["kind"], "dynamic");
    assert_eq!(
        segment["member_count"], 0,
        "members come with the first refresh"
    );
    let id = segment["id"].as_str().unwrap().to_owned();

    let report = refresh(&app, &token, "maison", &id).await;
    assert_eq!(report["items"][0]["entered"], 1);
    assert_eq!(report["items"][0]["exited"], 0);
    assert_eq!(members(&app, &id).await, vec![gold]);

    // A new rule is a new version; both are kept.
    let (status, changed) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/brands/maison/crm/segments/{id}"),
        Some(&json!({"rule": {"attribute": "tier", "op": "eq", "value": "silver"}})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["version"], 2);
    let (_, versions) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/versions"),
    )
    .await;
    let listed: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![2, 1]);
    assert_eq!(versions["items"][1]["rule"]["value"], "gold");

    let report = refresh(&app, &token, "maison", &id).await;
    assert_eq!(
        (
            report["items"][0]["entered"].as_i64(),
            report["items"][0]["exited"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(members(&app, &id).await, sorted(vec![silver, other]));

    let history_before: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_segment_history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let events_before = outbox(&app, &id).await.len();
    let report = refresh(&app, &token, "maison", &id).await;
    assert_eq!(
        (
            report["items"][0]["entered"].as_i64(),
            report["items"][0]["exited"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let history_after: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_segment_history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        history_after, history_before,
        "nothing changed, nothing written"
    );
    assert_eq!(outbox(&app, &id).await.len(), events_before);

    // The history: gold entered at v1, then exited and the silvers entered at v2, all by refresh.
    let (status, history) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/history?profile={gold}"),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let entries: Vec<(String, i64, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_owned(),
                e["version"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("exited".into(), 2, "refresh".into()),
            ("entered".into(), 1, "refresh".into())
        ]
    );
    let (_, page) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/history?limit=2"),
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/history?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        rest["items"].as_array().unwrap().len(),
        2,
        "four changes in all"
    );
    assert!(rest["next_cursor"].is_null());

    // The outbox carries each diff.
    let events = outbox(&app, &id).await;
    assert_eq!(events.len(), 2);
    assert_eq!(ids(&events[0]["entered"]), vec![gold]);
    assert_eq!(ids(&events[1]["entered"]), sorted(vec![silver, other]));
    assert_eq!(ids(&events[1]["exited"]), vec![gold]);
    assert_eq!(events[1]["reason"], "refresh");
    assert_eq!(events[1]["version"], 2);

    // Members, paged by profile id; the profile's own view.
    let (_, page) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/members?limit=1"),
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/members?limit=1&cursor={cursor}"),
    )
    .await;
    assert_ne!(
        rest["items"][0]["profile_id"],
        page["items"][0]["profile_id"]
    );
    let (status, bad) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/members?cursor=%21%21"),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let (_, theirs) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/profiles/{silver}/segments"),
    )
    .await;
    assert_eq!(theirs["items"][0]["slug"], "gold");
    let (_, none) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/profiles/{gold}/segments"),
    )
    .await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn a_large_refresh_is_announced_in_chunks_of_at_most_a_thousand_ids() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    sqlx::query("INSERT INTO crm_profiles (id, brand_id, tier) SELECT gen_random_uuid(), $1, 'gold' FROM generate_series(1, 2500)")
        .bind(maison)
        .execute(&app.db)
        .await
        .unwrap();
    let segment = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await;
    let id = segment["id"].as_str().unwrap().to_owned();
    refresh(&app, &token, "maison", &id).await;
    let events = outbox(&app, &id).await;
    assert_eq!(events.len(), 3);
    let sizes: Vec<usize> = events
        .iter()
        .map(|e| e["entered"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    let mut all: Vec<Uuid> = events.iter().flat_map(|e| ids(&e["entered"])).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2500, "every member once");
    assert_eq!(events[2]["chunk"], 3);
    assert_eq!(events[2]["chunks"], 3);
}

#[tokio::test]
async fn nested_segments_recompute_after_what_they_name_and_cycles_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let anne = profile(&app, maison, json!({"tier": "gold", "country": "FR"})).await;
    profile(&app, maison, json!({"tier": "gold", "country": "JP"})).await;
    let gold = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await;
    let french_gold = create(&app, &token, "maison", &json!({
        "slug": "french-gold", "name": "French gold", "rule": {"all": [
            {"segment": "gold", "is": "member"}, {"attribute": "country", "op": "eq", "value": "FR"}]}
    }))
    .await;
    let (gold_id, french_id) = (
        gold["id"].as_str().unwrap(),
        french_gold["id"].as_str().unwrap(),
    );

    // Refreshing `gold` refreshes `french-gold` after it, so the nested one sees the new members.
    let report = refresh(&app, &token, "maison", gold_id).await;
    let order: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![gold_id, french_id]);
    assert_eq!(members(&app, french_id).await, vec![anne]);
    sqlx::query("UPDATE crm_profiles SET tier = 'silver' WHERE id = $1")
        .bind(anne)
        .execute(&app.db)
        .await
        .unwrap();
    refresh(&app, &token, "maison", gold_id).await;
    assert!(
        members(&app, french_id).await.is_empty(),
        "left with its parent, in the same refresh"
    );

    // gold → french-gold → gold, and a segment naming itself: refused.
    for rule in [
        json!({"segment": "french-gold", "is": "member"}),
        json!({"not": {"segment": "gold", "is": "member"}}),
    ] {
        let (status, answer) = call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/brands/maison/crm/segments/{gold_id}"),
            Some(&json!({"rule": rule})),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "segment_cycle", "{answer}");
    }
    // A segment another names cannot be deleted; the other first, then it can.
    let (status, answer) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/brands/maison/crm/segments/{gold_id}"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["type"]
            .as_str()
            .unwrap()
            .ends_with("/segment-in-use")
    );
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/brands/maison/crm/segments/{french_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/brands/maison/crm/segments/{gold_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{gold_id}"),
    )
    .await;
    assert_eq!(status, 404);
    // Its slug is free again.
    create(
        &app,
        &token,
        "maison",
        &json!({"slug": "gold", "name": "Gold again", "kind": "static"}),
    )
    .await;
}

#[tokio::test]
async fn static_segments_take_members_by_hand_and_only_the_brands_live_profiles() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let atelier = brand_id(&app, "atelier").await;
    let (a, b) = (
        profile(&app, maison, json!({})).await,
        profile(&app, maison, json!({})).await,
    );
    let foreign = profile(&app, atelier, json!({})).await;
    let nobody = Uuid::now_v7();
    let segment = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "guests", "name": "Guests", "kind": "static"}),
    )
    .await;
    let id = segment["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/brands/maison/crm/segments/{id}/members");
    let (status, answer) = post(
        &app,
        &token,
        &path,
        &json!({"add": [a, b, foreign, nobody]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["added"], 2);
    assert_eq!(ids(&answer["unknown"]), sorted(vec![foreign, nobody]));
    let (_, again) = post(&app, &token, &path, &json!({"add": [a], "remove": [b]})).await;
    assert_eq!(
        (again["added"].as_i64(), again["removed"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(members(&app, &id).await, vec![a]);
    let (_, history) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/history"),
    )
    .await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "manual")
    );
    assert_eq!(history["items"].as_array().unwrap().len(), 3);

    // A static segment has no rule to refresh; a dynamic one takes no hand-picked members.
    let (status, answer) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/refresh"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    let dynamic = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "all", "name": "All", "rule": {"attribute": "tier", "op": "missing"}}),
    )
    .await;
    let (status, _) = post(
        &app,
        &token,
        &format!(
            "/api/v1/brands/maison/crm/segments/{}/members",
            dynamic["id"].as_str().unwrap()
        ),
        &json!({"add": [a]}),
    )
    .await;
    assert_eq!(status, 409);
    // Nested: a dynamic rule may name a static segment.
    let nested = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "guest-list", "name": "G", "rule": {"segment": "guests", "is": "member"}}),
    )
    .await;
    refresh(&app, &token, "maison", nested["id"].as_str().unwrap()).await;
    assert_eq!(members(&app, nested["id"].as_str().unwrap()).await, vec![a]);
    // Bodies out of bounds.
    let (status, _) = post(&app, &token, &path, &json!({})).await;
    assert_eq!(status, 422);
    let many: Vec<Uuid> = (0..1001).map(|_| Uuid::now_v7()).collect();
    let (status, _) = post(&app, &token, &path, &json!({"add": many})).await;
    assert_eq!(status, 422);
    let (status, _) = post(&app, &token, &path, &json!({"add": ["not-a-uuid"]})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn saving_checks_slug_kind_and_rule() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let path = "/api/v1/brands/maison/crm/segments";
    let rule = json!({"attribute": "tier", "op": "eq", "value": "gold"});
    create(
        &app,
        &token,
        "maison",
        &json!({"slug": "gold", "name": "Gold", "rule": rule}),
    )
    .await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"slug": "gold", "name": "Again", "rule": rule}),
            409,
            "segment-exists",
        ),
        (
            json!({"slug": "Not A Slug", "name": "x", "rule": rule}),
            422,
            "validation-failed",
        ),
        (
            json!({"slug": "-x", "name": "x", "rule": rule}),
            422,
            "validation-failed",
        ),
        (
            json!({"slug": "x", "name": "  ", "rule": rule}),
            422,
            "validation-failed",
        ),
        (json!({"slug": "x", "name": "x"}), 422, "validation-failed"),
        (
            json!({"slug": "x", "name": "x", "kind": "static", "rule": rule}),
            422,
            "validation-failed",
        ),
        (
            json!({"slug": "x", "name": "x", "rule": {"attribute": "tier"}}),
            422,
            "validation-failed",
        ),
        (
            json!({"slug": "x", "name": "x", "kind": "sometimes", "rule": rule}),
            422,
            "validation-failed",
        ),
        (
            json!({"slug": "x", "name": "x", "rule": rule, "owner": "me"}),
            422,
            "validation-failed",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = post(&app, &token, path, &body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["type"].as_str().unwrap().ends_with(code),
            "{body}: {answer}"
        );
    }
    let (_, list) = get(&app, &token, path).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _) = get(&app, &token, &format!("{path}/not-a-uuid")).await;
    assert_eq!(status, 404);
}
