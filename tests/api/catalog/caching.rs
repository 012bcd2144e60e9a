//! The Redis snapshot: hits, expiry, the stale last good copy while Salesforce fails, and Redis outages.

use std::time::Duration;

use serde_json::{Value, json};

use super::{PORTAL_PRODUCTS, customer_token, get, get_json, skus};
use crate::helpers::{
    DEAD_REDIS_URL, Sandboxed, System, problem, spawn_sandboxed_app, spawn_sandboxed_app_with,
};

#[tokio::test]
async fn a_second_read_is_served_from_the_cache_without_asking_salesforce() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let first = get_json(&app, "/api/v1/catalog/products", &token).await;
    let after_first = app.sandbox().salesforce_queries();
    let second = get_json(&app, "/api/v1/catalog/products?family=SIM", &token).await;
    let detail = get_json(&app, "/api/v1/catalog/products/FIBER-1G", &token).await;

    assert!(
        after_first >= 2,
        "products and prices were queried (with paging)"
    );
    assert_eq!(
        app.sandbox().salesforce_queries(),
        after_first,
        "no Salesforce query on a hit"
    );
    assert_eq!(first["fetched_at"], second["fetched_at"]);
    assert_eq!(detail["fetched_at"], first["fetched_at"]);
}

#[tokio::test]
async fn the_catalog_is_read_again_once_the_snapshot_expires() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new().configure(|settings| settings.catalog.cache_ttl_secs = 1),
    )
    .await;
    let token = customer_token(&app).await;

    let first = get_json(&app, "/api/v1/catalog/products", &token).await;
    let after_first = app.sandbox().salesforce_queries();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let second = get_json(&app, "/api/v1/catalog/products", &token).await;

    assert!(
        app.sandbox().salesforce_queries() > after_first,
        "a miss after the TTL"
    );
    assert_eq!(second["stale"], false);
    assert_ne!(first["fetched_at"], second["fetched_at"]);
}

#[tokio::test]
async fn the_last_good_snapshot_is_served_marked_stale_while_salesforce_is_down() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new().configure(|settings| settings.catalog.cache_ttl_secs = 1),
    )
    .await;
    let token = customer_token(&app).await;
    let fresh = get_json(&app, "/api/v1/catalog/products", &token).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));

    let list = get(&app, "/api/v1/catalog/products", &token).await;
    let detail = app
        .client
        .get(app.url("/api/v1/catalog/products/SIM-DATA-20GB"))
        .bearer_auth(&token)
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();

    assert_eq!(list.status(), 200);
    assert_eq!(list.headers()["x-catalog-stale"], "true");
    let exposed = detail.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        exposed.contains("x-catalog-stale"),
        "the portal's JavaScript may read the marker: {exposed}"
    );
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["stale"], true);
    assert_eq!(list["fetched_at"], fresh["fetched_at"], "the old snapshot");
    assert_eq!(skus(&list).len(), PORTAL_PRODUCTS);
    assert_eq!(detail.status(), 200);
    assert_eq!(detail.headers()["x-catalog-stale"], "true");
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(detail["stale"], true);
    assert_eq!(detail["price"]["amount"], "2980");

    // Once Salesforce is back the next read is fresh again.
    app.sandbox().clear_faults(System::Salesforce);
    tokio::time::sleep(Duration::from_millis(600)).await; // past the circuit breaker's cool-down
    let recovered = get(&app, "/api/v1/catalog/products", &token).await;
    assert!(recovered.headers().get("x-catalog-stale").is_none());
    let recovered: Value = recovered.json().await.unwrap();
    assert_eq!(recovered["stale"], false);
}

#[tokio::test]
async fn without_any_snapshot_an_unavailable_salesforce_is_a_503_problem() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));

    let list = get(&app, "/api/v1/catalog/products", &token).await;
    let detail = get(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &token).await;

    assert_eq!(list.status(), 503);
    assert!(list.headers().get("retry-after").is_some());
    let body = problem(list).await;
    assert_eq!(body["code"], "provider-unavailable");
    assert!(
        !body.to_string().contains("services/data"),
        "no provider detail leaks"
    );
    assert_eq!(detail.status(), 503);
}

#[tokio::test]
async fn without_any_snapshot_a_malformed_answer_is_a_502_problem() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "malformed": true, "operation": "/query" }),
    );

    let list = get(&app, "/api/v1/catalog/products", &token).await;

    assert_eq!(list.status(), 502);
    assert_eq!(problem(list).await["code"], "provider-error");
}

#[tokio::test]
async fn without_any_snapshot_a_hanging_salesforce_is_a_503_problem() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.providers.timeout_ms = 300;
        settings.providers.max_retries = 0;
    }))
    .await;
    let token = customer_token(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "hang": true, "operation": "/query" }),
    );

    let list = get(&app, "/api/v1/catalog/products", &token).await;

    assert_eq!(list.status(), 503);
    assert_eq!(problem(list).await["code"], "provider-unavailable");
}

#[tokio::test]
async fn a_malformed_answer_after_expiry_also_falls_back_to_the_last_good_snapshot() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new().configure(|settings| settings.catalog.cache_ttl_secs = 1),
    )
    .await;
    let token = customer_token(&app).await;
    get_json(&app, "/api/v1/catalog/products", &token).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "malformed": true, "operation": "/query" }),
    );

    let list = get_json(&app, "/api/v1/catalog/products", &token).await;

    assert_eq!(list["stale"], true);
    assert_eq!(skus(&list).len(), PORTAL_PRODUCTS);
}

#[tokio::test]
async fn with_redis_down_the_catalog_is_still_served_from_salesforce() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .configure(|settings| settings.redis.url = DEAD_REDIS_URL.to_owned().into()),
    )
    .await;
    let token = customer_token(&app).await;

    let first = get_json(&app, "/api/v1/catalog/products", &token).await;
    let after_first = app.sandbox().salesforce_queries();
    let detail = get_json(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &token).await;

    assert_eq!(skus(&first).len(), PORTAL_PRODUCTS);
    assert_eq!(first["stale"], false);
    assert_eq!(detail["price"]["amount"], "2980");
    assert!(
        app.sandbox().salesforce_queries() > after_first,
        "every read goes to Salesforce"
    );
}
