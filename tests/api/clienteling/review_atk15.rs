//! Review (atk15): the catalogue sync, interactions' metadata, the event store and CRM activities under
//! hostile or unlucky conditions.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, id_of, paris, send};
use super::follow::{INTERACTIONS, log, share};
use crate::helpers::spawn_app;

fn visit(store: &str) -> Value {
    json!({
        "channel": "action", "context": "store_visit",
        "metadata": { "store": store, "duration_minutes": 30, "purchased": false }
    })
}

#[tokio::test]
async fn a_store_visit_names_a_store_of_the_brand() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
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
    let path = format!("{CLIENTS}/{claire}/interactions");
    // A store that does not exist, and a store of another brand.
    for store in ["nowhere-9", "milan-1", "PARIS-1"] {
        let response = send(&app, Method::POST, Some(&advisor.token), &path, Some(visit(store))).await;
        assert_eq!(response.status(), 422, "{store}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "metadata.store", "{problem}");
    }
    // A store of the brand, the advisor's or another one the client visited.
    for store in ["paris-1", "tokyo-1"] {
        let response = send(&app, Method::POST, Some(&advisor.token), &path, Some(visit(store))).await;
        assert_eq!(response.status(), 201, "{store}");
    }
    let logged = log(&app, &advisor.token, &claire, visit("paris-1")).await;
    let response = app
        .client
        .patch(app.url(&format!("{INTERACTIONS}/{}", id_of(&logged))))
        .bearer_auth(&advisor.token)
        .header("If-Match", "\"1\"")
        .json(&json!({ "metadata": { "store": "london-1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "metadata.store", "{problem}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM clienteling_interactions WHERE metadata->>'store' NOT IN ('paris-1', 'tokyo-1')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn the_interaction_history_cannot_be_truncated() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
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
    log(&app, &advisor.token, &claire, share()).await;
    let truncated = sqlx::query("TRUNCATE clienteling_interaction_events")
        .execute(&app.db)
        .await;
    assert!(truncated.is_err(), "the append-only history was truncated");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM clienteling_interaction_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 1);
}
