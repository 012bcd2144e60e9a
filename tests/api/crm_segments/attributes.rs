//! A change of a profile's attributes without an event — `PATCH …/crm/profiles/{id}`, a clienteling edit,
//! a new profile through the resolve API — moves it in and out of the segments over attributes at once,
//! in the change's transaction (history reason `attributes`).

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::merges::page_view;
use super::{brand_id, call, create, get, members, post};
use crate::helpers::{TestApp, marketer_token, send, spawn_app, staff, token_of};

async fn patch(app: &TestApp, token: &str, brand: &str, id: Uuid, body: &Value) -> (u16, Value) {
    call(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/brands/{brand}/crm/profiles/{id}"),
        Some(body),
    )
    .await
}

async fn segment(app: &TestApp, token: &str, body: Value) -> String {
    create(app, token, "maison", &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn reasons(app: &TestApp, segment: &str) -> Vec<(String, String)> {
    let id: Uuid = segment.parse().unwrap();
    sqlx::query_as(
        "SELECT change, reason FROM crm_segment_history WHERE segment_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn pair(change: &str, reason: &str) -> (String, String) {
    (change.to_owned(), reason.to_owned())
}

#[tokio::test]
async fn a_patch_of_an_attribute_a_rule_uses_moves_the_profile_at_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    brand_id(&app, "maison").await;
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/attributes",
        &json!({"name": "shoe_size", "type": "number"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let gold = segment(
        &app,
        &token,
        json!({"slug": "gold", "name": "Gold",
        "rule": {"attribute": "tier", "op": "eq", "value": "gold"}}),
    )
    .await;
    let big = segment(
        &app,
        &token,
        json!({"slug": "big-feet", "name": "Big feet",
        "rule": {"attribute": "shoe_size", "op": "gte", "value": 44}}),
    )
    .await;
    let gold_too = segment(
        &app,
        &token,
        json!({"slug": "gold-too", "name": "Gold (nested)",
        "rule": {"segment": "gold", "is": "member"}}),
    )
    .await;
    // Over an activity only: an attribute change does not touch it.
    let browsers = segment(
        &app,
        &token,
        json!({"slug": "browsers", "name": "Browsers",
        "rule": {"activity": "page_view"}}),
    )
    .await;
    let other = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs = create(
        &app,
        &other,
        "atelier",
        &json!({"slug": "gold", "name": "Gold",
        "rule": {"attribute": "tier", "op": "eq", "value": "gold"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = super::merges::ingest(&app, &token, json!([page_view("j1", "l7")])).await;
    assert_eq!(members(&app, &browsers).await, vec![jane]);

    let (status, body) = patch(
        &app,
        &token,
        "maison",
        jane,
        &json!({"attributes": {"tier": "gold"}, "custom": {"shoe_size": 45}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for segment in [&gold, &big, &gold_too] {
        assert_eq!(members(&app, segment).await, vec![jane], "{segment}");
    }
    assert_eq!(reasons(&app, &gold).await, [pair("entered", "attributes")]);
    assert_eq!(reasons(&app, &browsers).await, [pair("entered", "event")]);
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.segment.membership.changed' AND aggregate_id = $1",
    )
    .bind(&big)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (&payload["reason"], &payload["entered"]),
        (&json!("attributes"), &json!([jane]))
    );

    // Invalid patches and another brand's marketer change nothing.
    let (status, body) = patch(
        &app,
        &token,
        "maison",
        jane,
        &json!({"attributes": {"tier": 7}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = patch(
        &app,
        &other,
        "atelier",
        jane,
        &json!({"attributes": {"tier": null}}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = patch(
        &app,
        &other,
        "maison",
        jane,
        &json!({"attributes": {"tier": null}}),
    )
    .await;
    assert_eq!(status, 404, "not a marketer of maison");
    assert_eq!(members(&app, &gold).await, vec![jane]);

    // Removing the values takes her out at once; the same patch again moves nothing.
    for _ in 0..2 {
        let (status, body) = patch(
            &app,
            &token,
            "maison",
            jane,
            &json!({"attributes": {"tier": null}, "custom": {"shoe_size": 40}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    for segment in [&gold, &big, &gold_too] {
        assert!(members(&app, segment).await.is_empty(), "{segment}");
    }
    assert_eq!(
        reasons(&app, &gold_too).await,
        [pair("entered", "attributes"), pair("exited", "attributes")]
    );
    assert_eq!(members(&app, &browsers).await, vec![jane]);
    assert!(members(&app, &theirs).await.is_empty());
}

#[tokio::test]
async fn a_clienteling_edit_and_a_new_client_move_the_profile_at_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    brand_id(&app, "maison").await;
    let gold = segment(
        &app,
        &token,
        json!({"slug": "gold", "name": "Gold",
        "rule": {"attribute": "tier", "op": "eq", "value": "gold"}}),
    )
    .await;
    let vip = segment(
        &app,
        &token,
        json!({"slug": "vip", "name": "VIP",
        "rule": {"attribute": "tags", "op": "contains", "value": "vip"}}),
    )
    .await;
    let advisor = token_of(
        &staff(
            &app,
            "ca.paris@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let tokyo = token_of(
        &staff(
            &app,
            "ca.tokyo@maison.example",
            "client_advisor",
            Some("maison"),
            &["tokyo-1"],
        )
        .await,
    );
    let clients = "/api/v1/brands/maison/clienteling/clients";
    let response = send(
        &app,
        Method::POST,
        Some(&advisor),
        clients,
        Some(json!({"store": "paris-1",
            "attributes": {"first_name": "Anne", "email": "anne@example.com", "tier": "gold"}})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let client: Value = response.json().await.unwrap();
    let id: Uuid = client["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        members(&app, &gold).await,
        vec![id],
        "a new client enters at once"
    );
    assert_eq!(reasons(&app, &gold).await, [pair("entered", "attributes")]);

    // An advisor of another store cannot edit her, and nothing moves.
    let path = format!("{clients}/{id}");
    let refused = send(
        &app,
        Method::PATCH,
        Some(&tokyo),
        &path,
        Some(json!({"attributes": {"tier": "silver", "tags": ["vip"]}})),
    )
    .await;
    assert_eq!(refused.status(), 404);
    assert!(members(&app, &vip).await.is_empty());

    let response = send(
        &app,
        Method::PATCH,
        Some(&advisor),
        &path,
        Some(json!({"attributes": {"tier": "silver", "tags": ["vip"]}})),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(members(&app, &gold).await.is_empty());
    assert_eq!(members(&app, &vip).await, vec![id]);
    assert_eq!(
        reasons(&app, &gold).await,
        [pair("entered", "attributes"), pair("exited", "attributes")]
    );
    let (_, listed) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/profiles/{id}/segments"),
    )
    .await;
    assert_eq!(listed["items"][0]["slug"], "vip", "{listed}");
}
