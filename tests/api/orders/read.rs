//! `GET /api/v1/orders` and `GET /api/v1/orders/{id}`.

use serde_json::Value;

use super::*;
use crate::helpers::{customer_linked_to, problem};

#[tokio::test]
async fn orders_are_listed_newest_first_in_pages() {
    let (app, token) = with_demo_customer().await;
    let first = place(&app, &token, &sim_order()).await;
    let second = place(&app, &token, &sim_order()).await;
    let third = place(&app, &token, &sim_order()).await;

    let page: Value = get(&app, &token, "/api/v1/orders?limit=2")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"][0]["id"], third["id"]);
    assert_eq!(page["items"][1]["id"], second["id"]);
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let next: Value = get(
        &app,
        &token,
        &format!("/api/v1/orders?limit=2&cursor={cursor}"),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(next["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(next["items"][0]["id"], first["id"]);
    assert!(next["next_cursor"].is_null());
}

#[tokio::test]
async fn an_order_is_read_by_its_id() {
    let (app, token) = with_demo_customer().await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id");
    let response = get(&app, &token, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(response.status(), 200);
    let read: Value = response.json().await.expect("json");
    assert_eq!(read, order);
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let (app, token) = with_demo_customer().await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id");
    let other = token_of(&customer_linked_to(&app, 1).await);

    let response = get(&app, &other, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(response.status(), 404);
    problem(response).await;
    let list: Value = get(&app, &other, "/api/v1/orders")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn bad_ids_cursors_and_limits_are_4xx() {
    let (app, token) = with_demo_customer().await;
    assert_eq!(
        get(&app, &token, "/api/v1/orders/not-a-uuid")
            .await
            .status(),
        400
    );
    assert_eq!(
        get(&app, &token, "/api/v1/orders?cursor=xyz")
            .await
            .status(),
        400
    );
    assert_eq!(
        get(&app, &token, "/api/v1/orders?limit=0").await.status(),
        422
    );
    let missing = uuid::Uuid::new_v4();
    assert_eq!(
        get(&app, &token, &format!("/api/v1/orders/{missing}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn reading_orders_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    assert_eq!(app.get("/api/v1/orders").await.status(), 401);
    let id = uuid::Uuid::new_v4();
    assert_eq!(app.get(&format!("/api/v1/orders/{id}")).await.status(), 401);
}
