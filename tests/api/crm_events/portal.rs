//! The portal's own facts, through the outbox, into the portal brand (`mobile`): a linked customer becomes a
//! profile, a provisioned order and a paid invoice become activities; redelivery is a duplicate; without
//! the portal brand the feed fails and retries, dropping nothing.

use concierge::crm::events::PortalFeed;
use concierge::outbox::{self, DispatchReport, Dispatcher, NewEvent};
use serde_json::{Value, json};

use super::timeline;
use crate::helpers::{
    TestApp, customer_linked_to, demo_brands, marketer_token, spawn_sandboxed_app,
};

fn feed(app: &TestApp) -> Dispatcher<PortalFeed> {
    Dispatcher::new(
        app.db.clone(),
        PortalFeed::new(app.state.crm.clone()),
        app.state.settings.outbox.clone(),
    )
}

async fn record(
    app: &TestApp,
    topic: &'static str,
    aggregate: &'static str,
    id: &str,
    payload: Value,
) {
    let mut conn = app.db.acquire().await.unwrap();
    outbox::record(
        &mut conn,
        NewEvent {
            topic,
            aggregate_type: aggregate,
            aggregate_id: id.to_owned(),
            payload,
        },
    )
    .await
    .unwrap();
}

/// The mobile profile holding `portal_user:<user>`.
async fn portal_profile(app: &TestApp, user: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT i.profile_id::text FROM crm_identifiers i JOIN brands b ON b.id = i.brand_id
         WHERE b.slug = 'mobile' AND i.kind = 'portal_user' AND i.value = $1",
    )
    .bind(user)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_linked_customer_becomes_a_profile_and_their_order_and_invoice_activities() {
    let app = spawn_sandboxed_app().await;
    demo_brands(&app).await;
    let login = customer_linked_to(&app, 1).await;
    let user = login["user"]["id"].as_str().unwrap().to_owned();
    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!((report.failed, report.dead), (0, 0), "{report:?}");

    let profile = portal_profile(&app, &user)
        .await
        .expect("a profile in mobile");
    let identifiers: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, value FROM crm_identifiers WHERE profile_id = $1::uuid ORDER BY kind",
    )
    .bind(&profile)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let demo = &concierge_sandbox::demo::CUSTOMERS[1];
    assert_eq!(
        identifiers,
        [
            ("email".to_owned(), demo.email.to_owned()),
            ("portal_user".to_owned(), user.clone()),
            ("salesforce_contact".to_owned(), demo.contact_id.to_owned()),
            ("whmcs_client".to_owned(), demo.whmcs_client_id.to_string()),
        ]
    );
    let name: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT first_name, email FROM crm_profiles WHERE id = $1::uuid")
            .bind(&profile)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        name,
        (
            Some(demo.first_name.to_owned()),
            Some(demo.email.to_owned())
        )
    );

    // What orders and billing record when an order is provisioned and an invoice paid.
    let order = uuid::Uuid::now_v7();
    record(
        &app,
        "order.provisioned",
        "order",
        &order.to_string(),
        json!({"order_id": order, "user_id": user, "service_ids": [41]}),
    )
    .await;
    record(
        &app,
        "invoice.paid",
        "invoice",
        "1002",
        json!({"invoice_id": 1002, "user_id": user, "whmcs_client_id": demo.whmcs_client_id,
                  "amount": "2980", "currency": "JPY"}),
    )
    .await;
    let report = feed(&app).dispatch_batch().await.unwrap();
    // The two facts, and the `crm.profile.created` the feed's resolution recorded for the new profile.
    assert_eq!((report.delivered, report.failed), (3, 0));

    let marketer = marketer_token(&app, "mkt@mobile.example", "mobile").await;
    let (status, page) = timeline(&app, &marketer, "mobile", &profile, "").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let kinds: Vec<&str> = items
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in ["portal_linked", "order_provisioned", "invoice_paid"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let provisioned = items
        .iter()
        .find(|item| item["type"] == "order_provisioned")
        .unwrap();
    assert_eq!(provisioned["properties"]["order_id"], order.to_string());
    assert_eq!(
        provisioned["event_id"],
        format!("portal:order.provisioned:{order}")
    );
    assert_eq!(provisioned["source"], "portal");
    let paid = items
        .iter()
        .find(|item| item["type"] == "invoice_paid")
        .unwrap();
    assert_eq!(paid["properties"]["amount"], "2980");
    assert_eq!(paid["properties"]["currency"], "JPY");

    // The same fact again (a redelivery, a second recording) is a duplicate: nothing new.
    record(
        &app,
        "order.provisioned",
        "order",
        &order.to_string(),
        json!({"order_id": order, "user_id": user, "service_ids": [41]}),
    )
    .await;
    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 0));
    assert_eq!(super::activity_count(&app, &profile).await, 3);
}

#[tokio::test]
async fn without_the_portal_brand_the_feed_fails_and_retries_and_drops_nothing() {
    let app = spawn_sandboxed_app().await;
    let user = uuid::Uuid::now_v7();
    let order = uuid::Uuid::now_v7();
    record(
        &app,
        "order.provisioned",
        "order",
        &order.to_string(),
        json!({"order_id": order, "user_id": user, "service_ids": []}),
    )
    .await;
    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!(
        report,
        DispatchReport {
            delivered: 0,
            failed: 1,
            dead: 0
        }
    );
    let (status, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, last_error FROM outbox_events WHERE topic = 'order.provisioned'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(
        error.unwrap_or_default().contains("portal brand"),
        "the reason is recorded"
    );

    demo_brands(&app).await;
    sqlx::query("UPDATE outbox_events SET next_attempt_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!(report.delivered, 1);
    let profile = portal_profile(&app, &user.to_string())
        .await
        .expect("the retry applied it");
    assert_eq!(super::activity_count(&app, &profile).await, 1);
}

#[tokio::test]
async fn other_topics_pass_through_the_feed_untouched() {
    let app = spawn_sandboxed_app().await;
    record(
        &app,
        "order.provisioning_failed",
        "order",
        "x",
        json!({"order_id": "x"}),
    )
    .await;
    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!(
        report.delivered, 1,
        "no portal brand is needed for a topic the CRM does not read"
    );
    let activities: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_activities")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(activities, 0);
}

#[tokio::test]
async fn paying_an_invoice_with_the_stored_card_becomes_an_invoice_paid_activity() {
    let app = spawn_sandboxed_app().await;
    demo_brands(&app).await;
    let login = customer_linked_to(&app, 0).await;
    let user = login["user"]["id"].as_str().unwrap().to_owned();
    let paid = app
        .client
        .post(app.url("/api/v1/billing/invoices/1002/payments"))
        .bearer_auth(crate::helpers::token_of(&login))
        .header("Idempotency-Key", "crm-pay-1002")
        .json(&json!({"method": "stored", "pay_method_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let paid: Value = paid.json().await.unwrap();
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM outbox_events WHERE topic = 'invoice.paid'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(payload["invoice_id"], 1002);
    assert_eq!(payload["user_id"], user.as_str());
    assert_eq!(payload["amount"], paid["invoice"]["total"]["amount"]);
    assert_eq!(payload["currency"], paid["invoice"]["total"]["currency"]);

    let report = feed(&app).dispatch_batch().await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    let profile = portal_profile(&app, &user)
        .await
        .expect("a profile in mobile");
    let (kind, properties): (String, Value) = sqlx::query_as(
        "SELECT type, properties FROM crm_activities WHERE profile_id = $1::uuid AND type = 'invoice_paid'",
    )
    .bind(&profile)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(kind, "invoice_paid");
    assert_eq!(properties["invoice_id"], 1002);
    assert_eq!(properties["amount"], payload["amount"]);
    let lifetime: String =
        sqlx::query_scalar("SELECT lifetime_value::text FROM crm_profiles WHERE id = $1::uuid")
            .bind(&profile)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lifetime, "0.0000", "invoices are not purchases");
}

#[tokio::test]
async fn with_jobs_running_a_verified_customer_is_linked_and_becomes_a_profile_end_to_end() {
    let app =
        crate::helpers::spawn_sandboxed_app_with(crate::helpers::Sandboxed::new().jobs()).await;
    demo_brands(&app).await;
    let demo = &concierge_sandbox::demo::CUSTOMERS[2];
    let password = "a-long-and-unusual-passphrase";
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": demo.email, "password": password,
                      "first_name": demo.first_name, "last_name": demo.last_name}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 202);
    // Verification starts the linking job; its links go through the outbox and the dispatcher to the CRM.
    let login = crate::helpers::sign_in_verified(&app, demo.email, password).await;
    let user = login["user"]["id"].as_str().unwrap().to_owned();
    let profile = crate::helpers::eventually(30, "the portal profile", || async {
        portal_profile(&app, &user).await
    })
    .await;
    let kinds: Vec<String> = crate::helpers::eventually(10, "all four identifiers", || async {
        let kinds: Vec<String> = sqlx::query_scalar(
            "SELECT kind FROM crm_identifiers WHERE profile_id = $1::uuid ORDER BY kind",
        )
        .bind(&profile)
        .fetch_all(&app.db)
        .await
        .unwrap();
        (kinds.len() == 4).then_some(kinds)
    })
    .await;
    assert_eq!(
        kinds,
        ["email", "portal_user", "salesforce_contact", "whmcs_client"]
    );
    let whmcs: String = sqlx::query_scalar(
        "SELECT value FROM crm_identifiers WHERE profile_id = $1::uuid AND kind = 'whmcs_client'",
    )
    .bind(&profile)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(whmcs, demo.whmcs_client_id.to_string());
}
