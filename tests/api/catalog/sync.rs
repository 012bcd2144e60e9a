//! Refreshing the snapshot: on demand by an admin, and by the scheduled job.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{PORTAL_PRODUCTS, customer_token, get_json};
use crate::helpers::{
    Sandboxed, System, TestApp, eventually, problem, spawn_sandboxed_app, spawn_sandboxed_app_with,
};

async fn admin_token(app: &TestApp) -> String {
    crate::auth::admin(app, "catalog-admin@concierge.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn sync(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.post(app.url("/api/v1/admin/catalog/sync"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Changes a product's price in Salesforce, as a price manager would.
async fn reprice(app: &TestApp, sku: &str, price: u32) {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "Id")]
        id: String,
    }
    let entries: Vec<Entry> = app
        .salesforce
        .query(&format!(
            "SELECT Id FROM PricebookEntry WHERE ProductCode = '{sku}'"
        ))
        .await
        .unwrap();
    app.salesforce
        .update(
            "PricebookEntry",
            &entries[0].id,
            &json!({ "UnitPrice": price }),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_admin_refreshes_the_catalog_now_and_customers_see_the_new_prices() {
    let app = spawn_sandboxed_app().await;
    let customer = customer_token(&app).await;
    let admin = admin_token(&app).await;
    let before = get_json(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &customer).await;
    reprice(&app, "SIM-DATA-20GB", 3180).await;
    let cached = get_json(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &customer).await;

    let response = sync(&app, Some(&admin)).await;

    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["product_count"], PORTAL_PRODUCTS);
    assert!(result["fetched_at"].as_str().is_some());
    assert_eq!(before["price"]["amount"], "2980");
    assert_eq!(cached["price"]["amount"], "2980", "served from the cache");
    let after = get_json(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &customer).await;
    assert_eq!(after["price"]["amount"], "3180");
    assert_eq!(after["fetched_at"], result["fetched_at"]);
}

#[tokio::test]
async fn only_admins_may_refresh_the_catalog() {
    let app = spawn_sandboxed_app().await;
    let customer = customer_token(&app).await;

    let anonymous = sync(&app, None).await;
    let as_customer = sync(&app, Some(&customer)).await;
    let wrong_method = app
        .client
        .get(app.url("/api/v1/admin/catalog/sync"))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();

    assert_eq!(anonymous.status(), 401);
    assert_eq!(as_customer.status(), 403);
    assert_eq!(problem(as_customer).await["code"], "forbidden");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(app.sandbox().salesforce_queries(), 0);
}

#[tokio::test]
async fn a_refresh_while_salesforce_is_down_fails_and_keeps_the_old_snapshot() {
    let app = spawn_sandboxed_app().await;
    let customer = customer_token(&app).await;
    let admin = admin_token(&app).await;
    let before = get_json(&app, "/api/v1/catalog/products", &customer).await;
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));

    let response = sync(&app, Some(&admin)).await;

    assert_eq!(response.status(), 503);
    assert_eq!(problem(response).await["code"], "provider-unavailable");
    let after = get_json(&app, "/api/v1/catalog/products", &customer).await;
    assert_eq!(after["fetched_at"], before["fetched_at"]);
    assert_eq!(after["stale"], false, "the snapshot has not expired");
}

#[tokio::test]
async fn the_scheduled_sync_fills_the_cache_before_anyone_asks() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|settings| settings.catalog.sync_cron = "* * * * * *".into()),
    )
    .await;

    eventually(15, "the scheduled catalog sync", || async {
        let cached: Option<concierge::catalog::CatalogSnapshot> =
            app.state.cache.get(concierge::catalog::FRESH_KEY).await;
        cached.filter(|snapshot| snapshot.products.len() == PORTAL_PRODUCTS)
    })
    .await;
    let token = customer_token(&app).await;
    // Freeze the schedule's effect: from now on a read must not need Salesforce.
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));
    let page = get_json(&app, "/api/v1/catalog/products", &token).await;

    assert_eq!(page["stale"], false);
    assert_eq!(page["items"].as_array().unwrap().len(), PORTAL_PRODUCTS);
    app.stop().await;
}

#[tokio::test]
async fn a_sync_job_that_fails_is_retried_until_salesforce_answers() {
    let app = spawn_sandboxed_app().await;
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503, "times": 3 }));
    let job = concierge::catalog::SyncCatalog {
        scheduled_for: chrono::Utc::now(),
    };
    let ctx = concierge::jobs::JobContext {
        task_id: "t".into(),
        attempt: 1,
        max_attempts: 3,
    };

    let failed =
        concierge::catalog::run_sync(app.state.catalog.clone(), job.clone(), ctx.clone()).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let retried = concierge::catalog::run_sync(app.state.catalog.clone(), job, ctx).await;

    assert!(failed.is_err(), "a failure is reported to the runner");
    assert!(retried.is_ok(), "{retried:?}");
}

#[test]
fn a_bad_catalog_schedule_ttl_or_price_book_stops_startup_with_the_key_named() {
    use concierge::config::{Environment, Settings};

    let base = || {
        Settings::figment(&crate::helpers::config_dir(), Environment::Test)
            .unwrap()
            .merge(("database.url", "postgres://localhost/x"))
    };
    for (figment, key) in [
        (
            base().merge(("catalog.sync_cron", "every night")),
            "catalog.sync_cron",
        ),
        (
            base().merge(("catalog.cache_ttl_secs", 0_u64)),
            "catalog.cache_ttl_secs",
        ),
        (
            base().merge(("catalog.pricebook_name", " ")),
            "catalog.pricebook_name",
        ),
    ] {
        let error = Settings::extract(figment).unwrap_err().to_string();
        assert!(error.contains(key), "{key}: {error}");
    }
    assert!(Settings::extract(base()).is_ok());
}
