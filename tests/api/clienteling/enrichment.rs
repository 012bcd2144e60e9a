//! Enrichment at write time: a job per written version fills in the names, the order's status and the
//! products; a failed look-up shows `failed` and the retry enriches; an older job never overwrites newer
//! enrichment; the reads never call Salesforce.

use std::sync::Arc;

use concierge::clienteling::interactions::enrich::ProductSource;
use concierge_sandbox::System;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{client, id_of, paris};
use super::follow::{history_kinds, log, read, run_enrich, share, write};
use crate::helpers::{get_as, spawn_sandboxed_app};

/// A Draft order of the first demo account; its order number.
async fn sandbox_order(app: &crate::helpers::TestApp) -> String {
    let id = app
        .salesforce
        .create(
            "Order",
            &json!({ "AccountId": "001SBDEMO000001AAA", "EffectiveDate": "2026-11-20", "Status": "Draft" }),
        )
        .await
        .unwrap();
    let order = app.sandbox().salesforce_record("Order", &id).await;
    order["OrderNumber"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_interaction_is_enriched_with_names_and_the_order_status_and_the_etag_still_serves_an_edit()
 {
    let app = spawn_sandboxed_app().await;
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
    let number = sandbox_order(&app).await;
    let created = log(
        &app,
        &advisor.token,
        &claire,
        json!({
            "channel": "call", "context": "order", "metadata": { "order_number": number }
        }),
    )
    .await;
    let id = id_of(&created);
    assert_eq!(created["enrichment_status"], "pending");

    run_enrich(&app, "maison", &id, 1, 1).await.unwrap();

    let read_back = read(&app, &advisor.token, &id).await;
    assert_eq!(read_back["enrichment_status"], "enriched", "{read_back}");
    let enrichment = &read_back["enrichment"];
    assert_eq!(enrichment["for_version"], 1);
    assert_eq!(enrichment["advisor"]["id"], advisor.id.to_string());
    assert!(
        enrichment["advisor"]["name"]
            .as_str()
            .is_some_and(|name| !name.is_empty()),
        "{enrichment}"
    );
    assert_eq!(enrichment["store"]["code"], "paris-1");
    let store_name: String = sqlx::query_scalar("SELECT name FROM stores WHERE code = 'paris-1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(enrichment["store"]["name"], store_name);
    assert_eq!(enrichment["client"]["name"], "Claire Dupont");
    assert_eq!(enrichment["order"]["found"], true);
    assert_eq!(enrichment["order"]["status"], "Draft");
    assert_eq!(read_back["version"], 2);
    assert_eq!(
        history_kinds(&app, &advisor.token, &id).await,
        ["created", "enriched"]
    );

    // The advisor's ETag from the creation still names what they saw: the job changed no field of theirs.
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        "\"1\"",
        Some(json!({ "note": "Called back" })),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(edited["version"], 3);
    assert_eq!(
        edited["enrichment_status"], "pending",
        "an edit is enriched again"
    );
    assert_eq!(
        edited["enrichment"]["for_version"], 1,
        "the last enrichment stays shown meanwhile"
    );
    // An ETag older than the advisor's own last write is stale.
    let stale = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        "\"2\"",
        Some(json!({ "note": "x" })),
    )
    .await;
    assert_eq!(stale.status(), 412);
}

#[tokio::test]
async fn a_failed_look_up_shows_failed_once_the_read_still_answers_and_the_retry_enriches() {
    let app = spawn_sandboxed_app().await;
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
    let created = log(
        &app,
        &advisor.token,
        &claire,
        json!({
            "channel": "email", "context": "order", "metadata": { "order_number": "00000999" }
        }),
    )
    .await;
    let id = id_of(&created);
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));
    app.sandbox().clear_requests();

    let error = run_enrich(&app, "maison", &id, 1, 1).await.unwrap_err();
    assert!(format!("{error:#}").contains("Salesforce"), "{error:#}");
    run_enrich(&app, "maison", &id, 1, 2).await.unwrap_err();

    // Salesforce is down, and the reads answer from the projection alone.
    let calls = app.sandbox().requests(System::Salesforce).len();
    let failed = read(&app, &advisor.token, &id).await;
    let page = get_as(
        &app,
        &advisor.token,
        &format!("{}/{claire}/interactions", super::fixtures::CLIENTS),
    )
    .await;
    assert_eq!(page.status(), 200);
    assert_eq!(
        app.sandbox().requests(System::Salesforce).len(),
        calls,
        "no read calls Salesforce"
    );
    assert_eq!(failed["enrichment_status"], "failed");
    assert_eq!(
        failed["enrichment"]["reason"],
        "Salesforce did not answer about the order."
    );
    assert_eq!(
        history_kinds(&app, &advisor.token, &id).await,
        ["created", "enrichment_failed"],
        "one failure event for the version, however many retries"
    );

    app.sandbox().clear_faults(System::Salesforce);
    run_enrich(&app, "maison", &id, 1, 3).await.unwrap();
    let enriched = read(&app, &advisor.token, &id).await;
    assert_eq!(enriched["enrichment_status"], "enriched");
    assert_eq!(
        enriched["enrichment"]["order"],
        json!({ "order_number": "00000999", "found": false })
    );
    assert_eq!(
        history_kinds(&app, &advisor.token, &id).await,
        ["created", "enrichment_failed", "enriched"]
    );
}

#[tokio::test]
async fn an_older_job_delivered_late_or_twice_never_overwrites_newer_enrichment() {
    let app = spawn_sandboxed_app().await;
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
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        "\"1\"",
        Some(json!({
            "metadata": { "skus": ["MSN-WAL-003"], "message": "This one instead" }
        })),
    )
    .await;
    assert_eq!(edited.status(), 200);

    run_enrich(&app, "maison", &id, 2, 1).await.unwrap();
    let newer = read(&app, &advisor.token, &id).await;
    assert_eq!(newer["enrichment"]["for_version"], 2);
    assert_eq!(
        newer["enrichment"]["unresolved_skus"],
        json!(["MSN-WAL-003"])
    );

    // The creation's job arrives late, then the edit's job again: neither appends anything.
    run_enrich(&app, "maison", &id, 1, 1).await.unwrap();
    run_enrich(&app, "maison", &id, 2, 1).await.unwrap();
    assert_eq!(read(&app, &advisor.token, &id).await, newer);
    assert_eq!(
        history_kinds(&app, &advisor.token, &id).await,
        ["created", "updated", "enriched"]
    );

    // A deleted interaction is not enriched.
    let deleted = write(&app, Method::DELETE, &advisor.token, &id, "\"3\"", None).await;
    assert_eq!(deleted.status(), 204);
    let other = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let gone = write(&app, Method::DELETE, &advisor.token, &other, "\"1\"", None).await;
    assert_eq!(gone.status(), 204);
    run_enrich(&app, "maison", &other, 1, 1).await.unwrap();
    assert_eq!(
        history_kinds(&app, &advisor.token, &other).await,
        ["created", "deleted"]
    );
}

/// A catalogue stand-in: one known SKU.
struct OneProduct;

impl ProductSource for OneProduct {
    fn products<'a>(
        &'a self,
        _brand: Uuid,
        skus: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Vec<Value>>> {
        Box::pin(async move {
            Ok(skus
                .iter()
                .filter(|sku| *sku == "MSN-BAG-001")
                .map(|sku| json!({ "sku": sku, "name": "Le Sac Vert", "price": "2400.00", "currency": "EUR" }))
                .collect())
        })
    }
}

#[tokio::test]
async fn the_products_of_the_skus_come_from_the_registered_catalogue() {
    let app = spawn_sandboxed_app().await;
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
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let clienteling = app
        .state
        .clienteling
        .clone()
        .with_products(Arc::new(OneProduct));
    let job = concierge::clienteling::interactions::enrich::Enrich {
        brand_id: super::follow::brand_id(&app, "maison").await,
        brand: "maison".into(),
        interaction_id: id.parse().unwrap(),
        version: 1,
    };

    concierge::clienteling::interactions::enrich::run(clienteling, job, super::follow::attempt(1))
        .await
        .unwrap();

    let enrichment = read(&app, &advisor.token, &id).await["enrichment"].clone();
    assert_eq!(enrichment["products"][0]["name"], "Le Sac Vert");
    assert_eq!(enrichment["products"][0]["price"], "2400.00");
    assert_eq!(enrichment["unresolved_skus"], json!(["MSN-SCF-002"]));
}

#[tokio::test]
async fn a_hostile_order_answer_fails_the_enrichment_without_a_500_anywhere() {
    let app = spawn_sandboxed_app().await;
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
    let id = id_of(
        &log(
            &app,
            &advisor.token,
            &claire,
            json!({
                "channel": "call", "context": "order", "metadata": { "order_number": "00000001" }
            }),
        )
        .await,
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "body": { "totalSize": 1, "done": true, "records": [{ "Id": 42, "Status": ["x"] }] } }),
    );

    run_enrich(&app, "maison", &id, 1, 1).await.unwrap_err();

    let shown = read(&app, &advisor.token, &id).await;
    assert_eq!(shown["enrichment_status"], "failed");
    assert_eq!(
        shown["enrichment"]["reason"],
        "Salesforce did not answer about the order."
    );
    let page = get_as(
        &app,
        &advisor.token,
        &format!("{}/{claire}/interactions", super::fixtures::CLIENTS),
    )
    .await;
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn the_process_enriches_skus_from_the_synced_catalogue_and_leaves_another_brands_out() {
    let app = spawn_sandboxed_app().await;
    super::catalogue_sync::sync(&app, "maison").await.unwrap();
    super::catalogue_sync::sync(&app, "atelier").await.unwrap();
    let atelier_sku: String = sqlx::query_scalar(
        "SELECT p.sku FROM clienteling_products p JOIN brands b ON b.id = p.brand_id
         WHERE b.slug = 'atelier' ORDER BY p.sku LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
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
    let id = id_of(
        &log(
            &app,
            &advisor.token,
            &claire,
            json!({
                "channel": "whatsapp", "context": "product_share", "subject": "Capucines",
                "metadata": { "skus": ["MA-CAP-MM-NOIR", atelier_sku], "message": "For you" }
            }),
        )
        .await,
    );

    // The state the process built (`cli::build_state`), not a stand-in source.
    run_enrich(&app, "maison", &id, 1, 1).await.unwrap();

    let enrichment = read(&app, &advisor.token, &id).await["enrichment"].clone();
    assert_eq!(
        enrichment["products"].as_array().unwrap().len(),
        1,
        "{enrichment}"
    );
    assert_eq!(enrichment["products"][0]["sku"], "MA-CAP-MM-NOIR");
    assert!(
        enrichment["products"][0]["name"]
            .as_str()
            .is_some_and(|name| !name.is_empty())
    );
    assert_eq!(enrichment["products"][0]["currency"], "EUR");
    assert_eq!(enrichment["unresolved_skus"], json!([atelier_sku]));
}
