//! Review (atk15): the catalogue sync, interactions' metadata, the event store and CRM activities under
//! hostile or unlucky conditions.

use reqwest::Method;
use serde_json::{Value, json};

use super::catalogue_sync::sync;
use super::fixtures::{CLIENTS, client, id_of, paris, send};
use super::follow::{INTERACTIONS, log, share};
use crate::helpers::{spawn_app, spawn_sandboxed_app};

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

#[tokio::test]
async fn a_sku_swapped_between_two_products_is_taken_in() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let products = app.sandbox().salesforce_records("Product2").await;
    let id_of_sku = |sku: &str| {
        products
            .iter()
            .find(|p| p["ProductCode"] == sku)
            .unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b) = ("MA-PORT-ZIPPY-NOIR", "MA-BAGUE-EMPR-OR");
    let (first, second) = (id_of_sku(a), id_of_sku(b));
    app.salesforce
        .update("Product2", &first, &json!({ "ProductCode": b }))
        .await
        .unwrap();
    app.salesforce
        .update("Product2", &second, &json!({ "ProductCode": a }))
        .await
        .unwrap();
    let run = sync(&app, "maison").await.unwrap();
    assert_eq!(run.skipped, 0, "{run:?}");
    let sku_of = |id: String| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT sku FROM clienteling_products WHERE salesforce_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert_eq!(sku_of(first.clone()).await, b);
    assert_eq!(sku_of(second.clone()).await, a);
    // And a SKU moved from one product to another, the taker changed first (both in one run).
    let (holder, taker) = (id_of_sku("MA-CAP-MM-NOIR"), id_of_sku("MA-ALM-PM-MONO"));
    app.salesforce
        .update("Product2", &taker, &json!({ "ProductCode": "MA-CAP-MM-NOIR" }))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.salesforce
        .update("Product2", &holder, &json!({ "ProductCode": "MA-CAP-MM-NOIR-OLD" }))
        .await
        .unwrap();
    let moved = sync(&app, "maison").await.unwrap();
    assert_eq!(moved.skipped, 0, "{moved:?}");
    assert_eq!(sku_of(holder).await, "MA-CAP-MM-NOIR-OLD");
    assert_eq!(sku_of(taker).await, "MA-CAP-MM-NOIR");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_tampered_cursor_is_a_bad_request_never_a_server_error() {
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
    let products = "/api/v1/brands/maison/clienteling/products";
    // A product cursor whose SKU holds a NUL (which PostgreSQL text cannot), with and without `q`.
    let nul_sku = b64(br#"{"k":"ma\u0000"}"#);
    let nul_scored = b64(br#"{"s":1065353216,"k":"ma\u0000"}"#);
    // A timeline cursor at a time PostgreSQL cannot hold (200,000 years BC).
    let ancient = format!(
        "{}.{}",
        b64(&(-6_311_390_400_000_000_000_i64).to_be_bytes()),
        b64(uuid::Uuid::now_v7().as_bytes())
    );
    for path in [
        format!("{products}?cursor={nul_sku}"),
        format!("{products}?q=sac&cursor={nul_scored}"),
        format!("{CLIENTS}/{claire}/interactions?cursor={ancient}"),
    ] {
        let response = crate::helpers::get_as(&app, &advisor.token, &path).await;
        assert_eq!(response.status(), 400, "{path}: {:?}", response.text().await);
    }
}
