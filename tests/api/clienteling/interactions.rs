//! Interactions: an append-only stream per interaction, its projection, `If-Match`, history and `as_of`,
//! each context's processor (and atelier's own), scope on every endpoint.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, code, id_of, paris, person, send, tokyo};
use crate::helpers::{TestApp, get_as, get_json_as, marketer_token, problem, spawn_app};

const INTERACTIONS: &str = "/api/v1/brands/maison/clienteling/interactions";

async fn log(app: &TestApp, token: &str, client: &str, body: Value) -> reqwest::Response {
    send(
        app,
        Method::POST,
        Some(token),
        &format!("{CLIENTS}/{client}/interactions"),
        Some(body),
    )
    .await
}

async fn with_if_match(
    app: &TestApp,
    method: Method,
    token: &str,
    path: &str,
    etag: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(etag) = etag {
        request = request.header("If-Match", etag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn share() -> Value {
    json!({
        "channel": "whatsapp", "context": "product_share", "subject": "The new bags",
        "metadata": { "skus": ["MSN-BAG-001", "MSN-SCF-002"], "message": "Thought of you" }
    })
}

#[tokio::test]
async fn an_interaction_is_a_versioned_stream_with_its_history_and_past_states() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let client = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );

    let created = log(&app, &advisor.token, &client, share()).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = created.json().await.unwrap();
    let id = id_of(&created);
    assert_eq!(location, format!("{INTERACTIONS}/{id}"));
    assert_eq!(created["version"], 1);
    assert_eq!(created["channel"], "whatsapp");
    assert_eq!(
        created["metadata"]["skus"],
        json!(["MSN-BAG-001", "MSN-SCF-002"])
    );
    assert_eq!(created["enrichment_status"], "pending", "SKUs to look up");
    assert_eq!(created["advisor_id"], advisor.id.to_string());
    let card: Value = get_json_as(&app, &advisor.token, CLIENTS).await;
    assert!(
        !card["items"][0]["last_contacted_at"].is_null(),
        "the book knows the client was contacted"
    );

    let read = get_as(&app, &advisor.token, &location).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let edit = json!({ "note": "She prefers the black one.", "subject": null });
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &location,
        None,
        Some(edit.clone()),
    )
    .await;
    assert_eq!(response.status(), 428);
    assert_eq!(code(&problem(response).await), "if-match-required");
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &location,
        Some("\"1\""),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["note"], "She prefers the black one.");
    assert!(updated["subject"].is_null());
    assert_eq!(updated["metadata"], created["metadata"]);
    for stale in ["\"1\"", "W/\"1\"", "garbage", "*"] {
        let response = with_if_match(
            &app,
            Method::PATCH,
            &advisor.token,
            &location,
            Some(stale),
            Some(json!({ "note": "lost" })),
        )
        .await;
        assert_eq!(response.status(), 412, "{stale}");
        assert_eq!(code(&problem(response).await), "interaction-stale");
    }
    // Nothing changed: no new version.
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &location,
        Some("\"2\""),
        Some(edit),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");

    let history: Value = get_json_as(&app, &advisor.token, &format!("{location}/history")).await;
    let events = history["items"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["version"], 1);
    assert_eq!(events[0]["type"], "created");
    assert_eq!(events[0]["schema_version"], 1);
    assert_eq!(events[0]["payload"]["subject"], "The new bags");
    assert_eq!(events[0]["actor"], format!("user:{}", advisor.id));
    assert!(events[0]["request_id"].is_string());
    assert_eq!(events[1]["version"], 2);
    assert_eq!(events[1]["type"], "updated");
    assert_eq!(
        events[1]["payload"],
        json!({ "note": "She prefers the black one.", "subject": null, "enrichment_status": "pending" })
    );

    let past: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{location}?as_of={}", urlencode(between)),
    )
    .await;
    assert_eq!(past["version"], 1);
    assert_eq!(past["subject"], "The new bags");
    assert!(past["note"].is_null());
    let before = chrono::Utc::now() - chrono::Duration::days(1);
    let response = get_as(
        &app,
        &advisor.token,
        &format!("{location}?as_of={}", urlencode(before)),
    )
    .await;
    assert_eq!(response.status(), 404, "not created yet");
    let response = get_as(&app, &advisor.token, &format!("{location}?as_of=yesterday")).await;
    assert_eq!(response.status(), 400);

    let before_delete = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let response = with_if_match(&app, Method::DELETE, &advisor.token, &location, None, None).await;
    assert_eq!(response.status(), 428);
    let response = with_if_match(
        &app,
        Method::DELETE,
        &advisor.token,
        &location,
        Some("\"1\""),
        None,
    )
    .await;
    assert_eq!(response.status(), 412);
    let response = with_if_match(
        &app,
        Method::DELETE,
        &advisor.token,
        &location,
        Some("\"2\""),
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(get_as(&app, &advisor.token, &location).await.status(), 404);
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &location,
        Some("\"3\""),
        Some(json!({ "note": "x" })),
    )
    .await;
    assert_eq!(
        response.status(),
        404,
        "a deleted interaction takes no more changes"
    );
    let history: Value = get_json_as(&app, &advisor.token, &format!("{location}/history")).await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "updated", "deleted"], "the audit stays");
    let past: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{location}?as_of={}", urlencode(before_delete)),
    )
    .await;
    assert_eq!(past["version"], 2);
    let timeline: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}/{client}/interactions"),
    )
    .await;
    assert_eq!(timeline["items"], json!([]));

    // The event table is append-only, whoever writes to it.
    let tampered = sqlx::query("UPDATE clienteling_interaction_events SET payload = '{}'")
        .execute(&app.db)
        .await;
    assert!(tampered.is_err());
    let removed = sqlx::query("DELETE FROM clienteling_interaction_events")
        .execute(&app.db)
        .await;
    assert!(removed.is_err());
}

fn urlencode(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        .replace('+', "%2B")
        .replace(':', "%3A")
}

#[tokio::test]
async fn concurrent_updates_of_one_version_let_exactly_one_through() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let client = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let created: Value = log(&app, &advisor.token, &client, share())
        .await
        .json()
        .await
        .unwrap();
    let path = format!("{INTERACTIONS}/{}", id_of(&created));
    let attempts = (0..6).map(|n| {
        with_if_match(
            &app,
            Method::PATCH,
            &advisor.token,
            &path,
            Some("\"1\""),
            Some(json!({ "note": format!("edit {n}") })),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        5,
        "{statuses:?}"
    );
    let history: Value = get_json_as(&app, &advisor.token, &format!("{path}/history")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_context_checks_its_metadata_with_field_paths() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let client = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let valid = [
        ("generic", json!({})),
        (
            "store_visit",
            json!({ "store": "paris-1", "duration_minutes": 45, "purchased": true }),
        ),
        ("product_share", json!({ "skus": ["A-1"] })),
        (
            "appointment",
            json!({ "starts_at": "2026-12-24T10:00:00Z", "purpose": "Fitting" }),
        ),
        ("order", json!({ "order_number": "SO-1001" })),
        (
            "pay_by_link",
            json!({ "amount": "1250.00", "currency": "EUR" }),
        ),
        (
            "curation",
            json!({ "skus": ["A-1", "B-2"], "title": "Winter" }),
        ),
        (
            "gift",
            json!({ "occasion": "Anniversary", "skus": ["A-1"], "budget": "3000" }),
        ),
        (
            "event_invitation",
            json!({ "event_name": "Private sale", "event_date": "2026-12-12", "rsvp": "yes" }),
        ),
        (
            "after_sales",
            json!({ "sku": "A-1", "issue": "Broken clasp", "repair_ref": "R-77" }),
        ),
        ("consultation", json!({ "topic": "Wedding" })),
        ("wishlist", json!({ "skus": ["A-1"] })),
    ];
    for (context, metadata) in valid {
        let response = log(
            &app,
            &advisor.token,
            &client,
            json!({ "channel": "call", "context": context, "metadata": metadata }),
        )
        .await;
        assert_eq!(response.status(), 201, "{context}");
        let body: Value = response.json().await.unwrap();
        // Every interaction is enriched (the names' snapshot at least).
        assert_eq!(body["enrichment_status"], "pending", "{context}");
    }
    let invalid = [
        ("product_share", json!({}), "metadata.skus"),
        ("product_share", json!({ "skus": [] }), "metadata.skus"),
        (
            "product_share",
            json!({ "skus": ["ok", "not ok"] }),
            "metadata.skus[1]",
        ),
        (
            "product_share",
            json!({ "skus": ["A"], "colour": "red" }),
            "metadata.colour",
        ),
        (
            "store_visit",
            json!({ "duration_minutes": 0 }),
            "metadata.duration_minutes",
        ),
        (
            "store_visit",
            json!({ "purchased": "yes" }),
            "metadata.purchased",
        ),
        (
            "appointment",
            json!({ "starts_at": "tomorrow" }),
            "metadata.starts_at",
        ),
        ("order", json!({}), "metadata.order_number"),
        (
            "pay_by_link",
            json!({ "amount": "12.345", "currency": "EUR" }),
            "metadata.amount",
        ),
        (
            "pay_by_link",
            json!({ "amount": "-1", "currency": "EUR" }),
            "metadata.amount",
        ),
        (
            "pay_by_link",
            json!({ "amount": "10", "currency": "eur" }),
            "metadata.currency",
        ),
        ("curation", json!({ "skus": "A-1" }), "metadata.skus"),
        ("gift", json!({ "skus": ["A-1"] }), "metadata.occasion"),
        (
            "gift",
            json!({ "occasion": "x", "budget": 100 }),
            "metadata.budget",
        ),
        (
            "event_invitation",
            json!({ "event_name": "x", "event_date": "2026-13-01" }),
            "metadata.event_date",
        ),
        (
            "event_invitation",
            json!({ "event_name": "x", "event_date": "2026-12-01", "rsvp": "perhaps" }),
            "metadata.rsvp",
        ),
        ("after_sales", json!({ "issue": "x" }), "metadata.sku"),
        (
            "after_sales",
            json!({ "sku": "A-1", "issue": "" }),
            "metadata.issue",
        ),
        ("consultation", json!({ "topic": 3 }), "metadata.topic"),
        (
            "wishlist",
            json!({ "skus": ["A", "A"] }),
            "metadata.skus[1]",
        ),
        ("generic", json!([1]), "metadata"),
    ];
    for (context, metadata, field) in invalid {
        let response = log(
            &app,
            &advisor.token,
            &client,
            json!({ "channel": "sms", "context": context, "metadata": metadata }),
        )
        .await;
        assert_eq!(response.status(), 422, "{context} {metadata}");
        let problem = problem(response).await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{context} {metadata}: {field} in {fields:?}"
        );
    }
    for (body, field) in [
        (
            json!({ "channel": "pigeon", "context": "generic" }),
            "channel",
        ),
        (json!({ "channel": "call", "context": "seance" }), "context"),
        (
            json!({ "channel": "call", "context": "generic", "occurred_at": "2999-01-01T00:00:00Z" }),
            "occurred_at",
        ),
        (
            json!({ "channel": "call", "context": "generic", "subject": "" }),
            "subject",
        ),
        (
            json!({ "channel": "call", "context": "generic", "note": "x".repeat(4001) }),
            "note",
        ),
    ] {
        let response = log(&app, &advisor.token, &client, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(problem(response).await["errors"][0]["field"], field);
    }
    let response = log(
        &app,
        &advisor.token,
        &client,
        json!({ "channel": "call", "context": "generic", "extra": 1 }),
    )
    .await;
    assert_eq!(response.status(), 422);
    // An update's metadata goes through the same processor.
    let created: Value = log(&app, &advisor.token, &client, share())
        .await
        .json()
        .await
        .unwrap();
    let path = format!("{INTERACTIONS}/{}", id_of(&created));
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &path,
        Some("\"1\""),
        Some(json!({ "metadata": { "skus": ["bad sku"] } })),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        problem(response).await["errors"][0]["field"],
        "metadata.skus[0]"
    );
    let response = with_if_match(
        &app,
        Method::PATCH,
        &advisor.token,
        &path,
        Some("\"1\""),
        Some(json!({ "note": 5 })),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn atelier_alone_logs_made_to_order() {
    let app = spawn_app().await;
    let atelier = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let base = "/api/v1/brands/atelier/clienteling/clients";
    let response = send(&app, Method::POST, Some(&atelier.token), base, Some(json!({
        "attributes": { "first_name": "Marco", "email": "marco@example.com" }, "store": "milan-1"
    }))).await;
    assert_eq!(response.status(), 201);
    let marco = id_of(&response.json().await.unwrap());
    let path = format!("{base}/{marco}/interactions");
    let order = json!({
        "channel": "action", "context": "made_to_order",
        "metadata": { "base_sku": "ATL-JKT-01", "measurements": { "chest": 98.5, "sleeve": 64 }, "monogram": "MB", "deadline": "2027-03-01" }
    });
    let response = send(&app, Method::POST, Some(&atelier.token), &path, Some(order)).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["metadata"]["measurements"]["chest"], 98.5);
    assert_eq!(
        body["enrichment_status"], "pending",
        "the base model is looked up"
    );
    for (metadata, field) in [
        (
            json!({ "measurements": { "chest": 98 } }),
            "metadata.base_sku",
        ),
        (
            json!({ "base_sku": "ATL-JKT-01", "measurements": {} }),
            "metadata.measurements",
        ),
        (
            json!({ "base_sku": "ATL-JKT-01", "measurements": { "chest": -1 } }),
            "metadata.measurements",
        ),
        (
            json!({ "base_sku": "ATL-JKT-01", "measurements": { "chest": 98 }, "monogram": "mb" }),
            "metadata.monogram",
        ),
    ] {
        let response = send(
            &app,
            Method::POST,
            Some(&atelier.token),
            &path,
            Some(json!({ "channel": "action", "context": "made_to_order", "metadata": metadata })),
        )
        .await;
        assert_eq!(response.status(), 422, "{metadata}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    // The same context is unknown to another brand.
    let advisor = paris(&app).await;
    let ours = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let response = log(&app, &advisor.token, &ours, json!({
        "channel": "action", "context": "made_to_order", "metadata": { "base_sku": "X", "measurements": { "chest": 90 } }
    })).await;
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "context");
    let response = get_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}/{ours}/interactions?context=made_to_order"),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn another_stores_and_brands_interactions_are_not_found() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let client = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let created: Value = log(&app, &advisor.token, &client, share())
        .await
        .json()
        .await
        .unwrap();
    let path = format!("{INTERACTIONS}/{}", id_of(&created));
    let other = tokyo(&app).await;
    let atelier = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let marketer = marketer_token(&app, "mk@maison.example", "maison").await;
    let theirs = path.replacen("/maison/", "/atelier/", 1);
    for (token, target, status) in [
        (Some(other.token.as_str()), path.as_str(), 404),
        (Some(atelier.token.as_str()), path.as_str(), 404),
        (Some(atelier.token.as_str()), theirs.as_str(), 404),
        (Some(marketer.as_str()), path.as_str(), 403),
        (None, path.as_str(), 401),
    ] {
        for (method, suffix, body) in [
            (Method::GET, "", None),
            (Method::GET, "/history", None),
            (Method::PATCH, "", Some(json!({ "note": "x" }))),
            (Method::DELETE, "", None),
        ] {
            let mut request = app
                .client
                .request(method.clone(), app.url(&format!("{target}{suffix}")))
                .header("If-Match", "\"1\"");
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                status,
                "{method} {target}{suffix} as {token:?}"
            );
            problem(response).await;
        }
        let timeline = format!("{CLIENTS}/{client}/interactions");
        let response = send(&app, Method::GET, token, &timeline, None).await;
        assert_eq!(response.status(), status);
        let response = send(&app, Method::POST, token, &timeline, Some(share())).await;
        assert_eq!(response.status(), status);
    }
    let history: Value = get_json_as(&app, &advisor.token, &format!("{path}/history")).await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "no intruder wrote an event"
    );
    for missing in [uuid::Uuid::now_v7().to_string(), "nope".to_owned()] {
        assert_eq!(
            get_as(&app, &advisor.token, &format!("{INTERACTIONS}/{missing}"))
                .await
                .status(),
            404
        );
    }
}

#[tokio::test]
async fn a_timeline_is_newest_first_filtered_and_paged() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let client = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let mut made = Vec::new();
    for (n, (channel, context)) in [
        ("call", "generic"),
        ("whatsapp", "product_share"),
        ("call", "consultation"),
        ("email", "generic"),
        ("call", "generic"),
    ]
    .iter()
    .enumerate()
    {
        let metadata = match *context {
            "product_share" => json!({ "skus": ["A-1"] }),
            "consultation" => json!({ "topic": "x" }),
            _ => json!({}),
        };
        let at = format!("2026-11-0{}T10:00:00Z", n + 1);
        let response = log(&app, &advisor.token, &client, json!({ "channel": channel, "context": context, "occurred_at": at, "metadata": metadata })).await;
        assert_eq!(response.status(), 201);
        made.push(id_of(&response.json().await.unwrap()));
    }
    made.reverse();
    let base = format!("{CLIENTS}/{client}/interactions");
    let mut seen = Vec::new();
    let mut path = format!("{base}?limit=2");
    loop {
        let page: Value = get_json_as(&app, &advisor.token, &path).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let calls: Value = get_json_as(&app, &advisor.token, &format!("{base}?channel=call")).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 3);
    let generic_calls: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{base}?channel=call&context=generic"),
    )
    .await;
    assert_eq!(generic_calls["items"].as_array().unwrap().len(), 2);
    for (query, status) in [
        ("channel=pigeon", 422),
        ("cursor=AAAA", 400),
        ("cursor=AAAA.BBBB", 400),
        ("limit=0", 422),
        ("other=1", 400),
    ] {
        let response = get_as(&app, &advisor.token, &format!("{base}?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        problem(response).await;
    }
}
