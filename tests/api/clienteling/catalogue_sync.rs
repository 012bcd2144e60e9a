//! The catalogue sync from the Salesforce stand-in: first (full) and incremental runs over pages, prices,
//! deactivation, faults and retries, hostile records.

use concierge::clienteling::catalogue::{Run, Trigger, sync_now};
use concierge_sandbox::System;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    Sandboxed, TestApp, demo_brands, spawn_sandboxed_app, spawn_sandboxed_app_with,
};

/// The stand-in's maison products (24, 2 of them inactive) and atelier's (20, 2 inactive).
pub const MAISON_PRODUCTS: usize = 24;
pub const ATELIER_PRODUCTS: usize = 20;

pub async fn brand_id(app: &TestApp, slug: &str) -> Uuid {
    concierge::brands::find(&app.db, slug)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn sync(app: &TestApp, slug: &str) -> anyhow::Result<Run> {
    demo_brands(app).await;
    let brand = brand_id(app, slug).await;
    let catalogue = app.state.clienteling.catalogue().unwrap();
    sync_now(catalogue, brand, slug, Trigger::Request).await
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    salesforce_id: String,
    sku: String,
    name: String,
    price_hundredths: Option<i64>,
    currency: Option<String>,
    active: bool,
    inactive_reason: Option<String>,
}

async fn rows(app: &TestApp, slug: &str) -> Vec<Row> {
    sqlx::query_as(
        "SELECT p.salesforce_id, p.sku, p.name, p.price_hundredths, p.currency, p.active, p.inactive_reason
         FROM clienteling_products p JOIN brands b ON b.id = p.brand_id WHERE b.slug = $1 ORDER BY p.sku",
    )
    .bind(slug)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn row(app: &TestApp, sku: &str) -> Row {
    rows(app, "maison")
        .await
        .into_iter()
        .chain(rows(app, "atelier").await)
        .find(|row| row.sku == sku)
        .unwrap_or_else(|| panic!("no row {sku}"))
}

async fn watermark(app: &TestApp, slug: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar(
        "SELECT s.watermark FROM clienteling_catalogue_state s JOIN brands b ON b.id = s.brand_id WHERE b.slug = $1",
    )
    .bind(slug)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

/// The product's id in the stand-in (and its price book entry's).
async fn salesforce_ids(app: &TestApp, sku: &str) -> (String, String) {
    let sandbox = app.sandbox();
    let product = sandbox
        .salesforce_records("Product2")
        .await
        .into_iter()
        .find(|p| p["ProductCode"] == sku)
        .unwrap();
    let id = product["Id"].as_str().unwrap().to_owned();
    let entry = sandbox
        .salesforce_records("PricebookEntry")
        .await
        .into_iter()
        .find(|e| e["Product2Id"] == id.as_str())
        .unwrap();
    (id, entry["Id"].as_str().unwrap().to_owned())
}

fn product_queries(app: &TestApp) -> Vec<String> {
    app.sandbox()
        .operations(System::Salesforce)
        .into_iter()
        .filter(|op| op.contains("/query"))
        .collect()
}

#[tokio::test]
async fn a_first_sync_takes_in_the_brands_products_over_pages_with_prices_and_a_watermark() {
    let app = spawn_sandboxed_app().await;
    let run = sync(&app, "maison").await.unwrap();

    assert_eq!(run.status, "succeeded");
    assert_eq!(run.mode.as_deref(), Some("full"));
    assert_eq!(run.since, None);
    assert_eq!(run.fetched as usize, MAISON_PRODUCTS);
    assert_eq!(run.created as usize, MAISON_PRODUCTS);
    assert_eq!((run.updated, run.skipped, run.deactivated), (0, 0, 0));
    let rows = rows(&app, "maison").await;
    assert_eq!(rows.len(), MAISON_PRODUCTS);
    assert!(
        rows.iter().all(|r| r.sku.starts_with("MA-")),
        "only maison's"
    );
    assert!(rows_of_brand_only(&app).await);
    let inactive: Vec<&str> = rows
        .iter()
        .filter(|r| !r.active)
        .map(|r| r.sku.as_str())
        .collect();
    assert_eq!(inactive, vec!["MA-CAP-MINI-VERT", "MA-FOUL-SOIE-2019"]);
    assert!(
        rows.iter()
            .filter(|r| !r.active)
            .all(|r| r.inactive_reason.as_deref() == Some("inactive"))
    );
    let bag = row(&app, "MA-CAP-MM-NOIR").await;
    assert_eq!(
        (bag.price_hundredths, bag.currency.as_deref()),
        (Some(690_000), Some("EUR"))
    );
    // The stand-in pages by 5 in tests: the first query's 24 records came over 5 pages.
    let more = product_queries(&app)
        .iter()
        .filter(|op| op.contains("/query/01g"))
        .count();
    assert!(
        more >= 4,
        "followed nextRecordsUrl: {:?}",
        product_queries(&app)
    );
    assert_eq!(
        watermark(&app, "maison").await.unwrap().to_rfc3339(),
        "2026-01-20T10:23:00+00:00",
        "the latest LastModifiedDate taken in"
    );
    assert!(rows_for(&app, "atelier").await == 0);
}

async fn rows_of_brand_only(app: &TestApp) -> bool {
    rows(app, "atelier").await.is_empty()
}

async fn rows_for(app: &TestApp, slug: &str) -> usize {
    rows(app, slug).await.len()
}

#[tokio::test]
async fn later_syncs_are_incremental_idempotent_and_take_in_product_and_price_changes() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let again = sync(&app, "maison").await.unwrap();
    assert_eq!(again.mode.as_deref(), Some("incremental"));
    assert_eq!(
        again.since.unwrap().to_rfc3339(),
        "2026-01-20T10:23:00+00:00"
    );
    assert_eq!((again.created, again.updated, again.deactivated), (0, 0, 0));
    // Only the overlap (5 minutes before the watermark) is read again, and nothing changes.
    assert!((again.fetched as usize) < MAISON_PRODUCTS / 2, "{again:?}");
    assert_eq!(again.unchanged, again.fetched);
    app.sandbox().clear_requests();

    let (wallet, _) = salesforce_ids(&app, "MA-PORT-ZIPPY-NOIR").await;
    app.salesforce
        .update(
            "Product2",
            &wallet,
            &json!({ "Name": "Portefeuille Zippy XL" }),
        )
        .await
        .unwrap();
    let (_, ring_entry) = salesforce_ids(&app, "MA-BAGUE-EMPR-OR").await;
    app.salesforce
        .update(
            "PricebookEntry",
            &ring_entry,
            &json!({ "UnitPrice": 3290.5 }),
        )
        .await
        .unwrap();
    let third = sync(&app, "maison").await.unwrap();

    assert_eq!(third.updated, 2, "{third:?}");
    assert_eq!(third.created, 0);
    assert_eq!(
        row(&app, "MA-PORT-ZIPPY-NOIR").await.name,
        "Portefeuille Zippy XL"
    );
    assert_eq!(
        row(&app, "MA-BAGUE-EMPR-OR").await.price_hundredths,
        Some(329_050)
    );
    assert!(
        product_queries(&app)
            .iter()
            .any(|op| op.contains("LastModifiedDate") && op.contains("%3E")),
        "incremental by LastModifiedDate: {:?}",
        product_queries(&app)
    );
    assert!(third.watermark.unwrap() > again.watermark.unwrap());
    assert_eq!(rows(&app, "maison").await.len(), MAISON_PRODUCTS);
}

#[tokio::test]
async fn retired_and_deleted_products_become_inactive_and_their_rows_stay() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let (retired, _) = salesforce_ids(&app, "MA-ALM-PM-MONO").await;
    app.salesforce
        .update("Product2", &retired, &json!({ "IsActive": false }))
        .await
        .unwrap();
    let (deleted, _) = salesforce_ids(&app, "MA-KEEP-55-MONO").await;
    app.salesforce.delete("Product2", &deleted).await.unwrap();

    let run = sync(&app, "maison").await.unwrap();

    assert_eq!(run.deactivated, 1, "{run:?}");
    let alma = row(&app, "MA-ALM-PM-MONO").await;
    assert!(!alma.active);
    assert_eq!(alma.inactive_reason.as_deref(), Some("inactive"));
    let keepall = row(&app, "MA-KEEP-55-MONO").await;
    assert!(!keepall.active);
    assert_eq!(keepall.inactive_reason.as_deref(), Some("missing"));
    assert_eq!(keepall.salesforce_id, deleted);
    assert_eq!(
        rows(&app, "maison").await.len(),
        MAISON_PRODUCTS,
        "never deleted"
    );
    // Retired again is no change; reactivated in Salesforce, it is on sale again.
    let quiet = sync(&app, "maison").await.unwrap();
    assert_eq!(quiet.deactivated, 0);
    app.salesforce
        .update("Product2", &retired, &json!({ "IsActive": true }))
        .await
        .unwrap();
    sync(&app, "maison").await.unwrap();
    let alma = row(&app, "MA-ALM-PM-MONO").await;
    assert!(alma.active);
    assert_eq!(alma.inactive_reason, None);
}

#[tokio::test]
async fn a_failing_salesforce_fails_the_run_and_leaves_the_watermark_and_the_table() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    sync(&app, "maison").await.unwrap();
    let before = watermark(&app, "maison").await.unwrap();
    let (wallet, _) = salesforce_ids(&app, "MA-PORT-ZIPPY-NOIR").await;
    app.salesforce
        .update("Product2", &wallet, &json!({ "Name": "Zippy renamed" }))
        .await
        .unwrap();

    for fault in [
        json!({ "status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED" }),
        json!({ "status": 503 }),
        json!({ "truncated": true }),
        // Mid-way: the first page is fine, the next one fails.
        json!({ "status": 500, "operation": "/query/01g" }),
        // The id listing fails after the products were read: nothing is deactivated.
        json!({ "status": 503, "operation": "SELECT+Id+FROM+Product2" }),
    ] {
        app.sandbox()
            .inject_fault(System::Salesforce, fault.clone());
        let failed = sync(&app, "maison").await;
        assert!(failed.is_err(), "{fault}");
        app.sandbox().clear_faults(System::Salesforce);
        let run: (String, Option<String>) = sqlx::query_as(
            "SELECT status, last_error FROM clienteling_catalogue_runs ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(run.0, "failed", "{fault}");
        assert!(run.1.is_some_and(|e| e.contains("salesforce")), "{fault}");
        assert_eq!(watermark(&app, "maison").await.unwrap(), before, "{fault}");
        assert!(
            rows(&app, "maison")
                .await
                .iter()
                .all(|r| r.active || r.inactive_reason.as_deref() == Some("inactive")),
            "{fault}"
        );
    }
    // An expired session is renewed by the client on its own: the run succeeds.
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 401, "error_code": "INVALID_SESSION_ID", "times": 1 }),
    );
    let run = sync(&app, "maison").await.unwrap();
    assert_eq!(run.status, "succeeded");
    assert_eq!(row(&app, "MA-PORT-ZIPPY-NOIR").await.name, "Zippy renamed");
    assert!(watermark(&app, "maison").await.unwrap() > before);
}

fn record(id: &str, sku: &str, brand: Value) -> Value {
    json!({
        "attributes": { "type": "Product2" },
        "Id": id, "ProductCode": sku, "Name": format!("Hostile {sku}"), "Family": "Bags",
        "IsActive": true, "Brand__c": brand, "LastModifiedDate": "2026-02-01T00:00:00.000+0000",
        "PricebookEntries": null
    })
}

#[tokio::test]
async fn hostile_records_are_skipped_with_counted_reasons_and_never_stored() {
    let app = spawn_sandboxed_app().await;
    let (real, _) = salesforce_ids(&app, "MA-CART-NOIR").await;
    let mut wrong_type = record("01tSB0000000902AAA", "HOSTILE-TYPE", json!("maison"));
    wrong_type["IsActive"] = json!("yes");
    let mut missing = record("01tSB0000000903AAA", "HOSTILE-MISSING", json!("maison"));
    missing.as_object_mut().unwrap().remove("ProductCode");
    let mut future = record("01tSB0000000904AAA", "HOSTILE-FUTURE", json!("maison"));
    future["LastModifiedDate"] = json!("9999-12-31T00:00:00.000+0000");
    let mut huge = record("01tSB0000000905AAA", "HOSTILE-HUGE", json!("maison"));
    huge["Description"] = json!("x".repeat(10_000));
    let mut price = record("01tSB0000000906AAA", "HOSTILE-PRICE", json!("maison"));
    price["PricebookEntries"] =
        json!({ "records": [{ "UnitPrice": "free", "CurrencyIsoCode": "EUR" }] });
    let records = vec![
        record(&real, "MA-CART-NOIR", json!("maison")),
        record("01tSB0000000901AAA", "AT-STOLEN", json!("atelier")),
        wrong_type,
        missing,
        future,
        huge,
        price,
        json!(42),
        record("../../x", "HOSTILE-ID", json!("maison")),
        // Another Salesforce product claiming a SKU the brand has (in another case).
        record("01tSB0000000907AAA", "ma-cart-noir", json!("maison")),
    ];
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({
            "operation": "Colour__c", "times": 1,
            "body": { "totalSize": records.len(), "done": true, "records": records }
        }),
    );

    let run = sync(&app, "maison").await.unwrap();

    assert_eq!(run.created, 1, "{run:?}");
    assert_eq!(run.skipped, 9, "{run:?}");
    assert_eq!(
        run.skip_reasons,
        json!({
            "other_brand": 1, "wrong_type": 1, "missing_field": 1, "future_date": 1, "too_long": 1,
            "bad_price": 1, "not_an_object": 1, "bad_id": 1, "duplicate_sku": 1
        })
    );
    let rows = rows(&app, "maison").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sku, "MA-CART-NOIR");
    assert!(
        rows_for(&app, "atelier").await == 0,
        "another brand's record is not taken in"
    );
    // The watermark is the good record's, not the one dated 9999.
    assert_eq!(
        watermark(&app, "maison").await.unwrap().to_rfc3339(),
        "2026-02-01T00:00:00+00:00"
    );
}

#[tokio::test]
async fn an_oversized_page_is_cut_at_two_thousand_records_and_the_rest_counted() {
    let app = spawn_sandboxed_app().await;
    let (real, _) = salesforce_ids(&app, "MA-CART-NOIR").await;
    let mut records = vec![record(&real, "MA-CART-NOIR", json!("maison"))];
    records.extend((0..2_100).map(|_| json!({ "junk": true })));
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({
            "operation": "Colour__c", "times": 1,
            "body": { "totalSize": records.len(), "done": true, "records": records }
        }),
    );
    let run = sync(&app, "maison").await.unwrap();
    assert_eq!(run.created, 1);
    assert_eq!(run.skip_reasons["page_overflow"], 101);
    assert_eq!(run.skip_reasons["missing_field"], 1999);
    assert_eq!(rows_for(&app, "maison").await, 1);
}

#[tokio::test]
async fn concurrent_syncs_of_a_brand_never_overlap_nor_fail_each_others_run() {
    let app = spawn_sandboxed_app().await;
    demo_brands(&app).await;
    let (a, b, c) = tokio::join!(
        sync(&app, "maison"),
        sync(&app, "maison"),
        sync(&app, "atelier")
    );
    assert!(c.is_ok());
    assert!(a.is_ok() || b.is_ok(), "{a:?} {b:?}");
    assert_eq!(rows_for(&app, "maison").await, MAISON_PRODUCTS);
    assert_eq!(rows_for(&app, "atelier").await, ATELIER_PRODUCTS);
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM clienteling_catalogue_runs")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(statuses.iter().all(|s| s == "succeeded"), "{statuses:?}");
}

#[tokio::test]
async fn a_provider_looping_its_cursor_fails_the_run_instead_of_spinning() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let (real, _) = salesforce_ids(&app, "MA-CART-NOIR").await;
    let looping = json!({
        "totalSize": 10, "done": false,
        "nextRecordsUrl": "/services/data/v60.0/query/01gSBLOOP-5",
        "records": [record(&real, "MA-CART-NOIR", json!("maison"))]
    });
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "body": looping }),
    );
    let failed = sync(&app, "maison").await;
    assert!(failed.is_err());
    assert!(format!("{:#}", failed.unwrap_err()).contains("same nextRecordsUrl"));
    assert_eq!(watermark(&app, "maison").await, None);
}

/// A product refused because another holds its SKU is read again by every later run until it gets in. It
/// used to be lost when the holder let the SKU go only in a later run: the refused product, unchanged since,
/// lay behind the watermark and its five-minute overlap, so no run read it again.
#[tokio::test]
async fn a_sku_conflict_spanning_two_runs_is_settled_once_the_holder_lets_go() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let (holder, _) = salesforce_ids(&app, "MA-CAP-MM-NOIR").await;
    let (taker, _) = salesforce_ids(&app, "MA-ALM-PM-MONO").await;
    // The taker gets the SKU while the holder still has it in Salesforce: refused, and kept.
    app.salesforce
        .update(
            "Product2",
            &taker,
            &json!({ "ProductCode": "MA-CAP-MM-NOIR" }),
        )
        .await
        .unwrap();
    let refused = sync(&app, "maison").await.unwrap();
    assert_eq!(refused.skip_reasons["duplicate_sku"], 1, "{refused:?}");
    assert_eq!(row(&app, "MA-ALM-PM-MONO").await.salesforce_id, taker);
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT salesforce_id FROM clienteling_catalogue_deferred")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(kept, std::slice::from_ref(&taker));
    // Later runs took in newer changes: the watermark's overlap no longer reaches the taker's change.
    sqlx::query(
        "UPDATE clienteling_catalogue_state SET watermark = now() + interval '5 minutes 1 second'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    app.salesforce
        .update(
            "Product2",
            &holder,
            &json!({ "ProductCode": "MA-CAP-MM-NOIR-OLD" }),
        )
        .await
        .unwrap();
    app.sandbox().clear_requests();

    let settled = sync(&app, "maison").await.unwrap();

    assert_eq!(settled.skipped, 0, "{settled:?}");
    assert_eq!(row(&app, "MA-CAP-MM-NOIR").await.salesforce_id, taker);
    assert_eq!(row(&app, "MA-CAP-MM-NOIR-OLD").await.salesforce_id, holder);
    assert!(
        product_queries(&app)
            .iter()
            .any(|op| op.contains(&taker) && op.contains("Id")),
        "the taker read again by id: {:?}",
        product_queries(&app)
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM clienteling_catalogue_deferred")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "settled, nothing waits");
}
