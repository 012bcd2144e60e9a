//! An identifier naming another system's account that a marketer (or an API event) added is not a link: it
//! never opens a stranger's portal records to an export, and it never selects what an erasure closes or
//! anonymises at WHMCS or Salesforce (their ids are guessable). Only the portal's verified link counts.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{ask_export, completed, download, request_path};
use crate::helpers::{Sandboxed, customer_token, marketer_token, send, spawn_sandboxed_app_with};

async fn dummy(app: &crate::helpers::TestApp, marketer: &str, brand: &str) -> String {
    let response = send(
        app,
        Method::POST,
        Some(marketer),
        &format!("/api/v1/brands/{brand}/crm/profiles"),
        Some(json!({ "attributes": { "first_name": "Dummy" },
                     "identifiers": [{ "kind": "email", "value": format!("dummy.{brand}@example.com") }] })),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["profile"]["id"]
        .as_str()
        .or_else(|| body["id"].as_str())
        .unwrap()
        .to_owned()
}

async fn attach(
    app: &crate::helpers::TestApp,
    marketer: &str,
    brand: &str,
    profile: &str,
    kind: &str,
    value: &str,
) {
    let response = send(
        app,
        Method::POST,
        Some(marketer),
        &format!("/api/v1/brands/{brand}/crm/profiles/{profile}/identifiers"),
        Some(json!({ "kind": kind, "value": value })),
    )
    .await;
    let status = response.status();
    assert!(
        status.is_success(),
        "{kind}:{value} → {status} {}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_portal_user_identifier_a_marketer_added_exports_no_portal_records() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    crate::helpers::demo_brands(&app).await;
    customer_token(&app, "victim@example.com").await;
    let victim: Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'victim@example.com'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let brand = app.state.crm.portal_brand().to_owned();
    let marketer = marketer_token(&app, "mkt@portal.example", &brand).await;
    let profile = dummy(&app, &marketer, &brand).await;
    attach(
        &app,
        &marketer,
        &brand,
        &profile,
        "portal_user",
        &victim.to_string(),
    )
    .await;

    let request = ask_export(&app, &marketer, &brand, &profile).await;
    let done = completed(
        &app,
        &marketer,
        &request_path(&brand, request["id"].as_str().unwrap()),
    )
    .await;
    let files = download(&app, &done).await;
    let portal: Vec<&String> = files
        .keys()
        .filter(|name| name.starts_with("portal_"))
        .collect();
    assert!(portal.is_empty(), "a stranger's portal records: {portal:?}");
}

#[tokio::test]
async fn accounts_a_marketer_named_are_not_erasure_targets() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    crate::helpers::demo_brands(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let profile = dummy(&app, &marketer, "maison").await;
    attach(&app, &marketer, "maison", &profile, "whmcs_client", "1").await;
    attach(
        &app,
        &marketer,
        "maison",
        &profile,
        "salesforce_contact",
        "003SBDEMO000001AAA",
    )
    .await;
    attach(
        &app,
        &marketer,
        "maison",
        &profile,
        "portal_user",
        &Uuid::now_v7().to_string(),
    )
    .await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();

    let targets = concierge::crm::erasure::targets(&app.db, brand.id, profile.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(targets.emails, ["dummy.maison@example.com"]);
    assert!(targets.whmcs_clients.is_empty(), "{targets:?}");
    assert!(targets.salesforce_contacts.is_empty(), "{targets:?}");
    assert!(targets.portal_users.is_empty(), "{targets:?}");
}
