//! The client 360° view (`GET …/clienteling/clients/{id}/360`): each part on known data, `fields`, degraded
//! parts with the Salesforce sandbox slow or failing, a small pool, scope, and the benchmark.

mod bench;
mod degraded;
mod parts;
mod scope;
mod tasks;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{Person, client, id_of, paris, send};
use crate::helpers::{TestApp, marketer_token};

pub fn view_path(client: &str) -> String {
    format!("/api/v1/brands/maison/clienteling/clients/{client}/360")
}

/// `GET …/360{query}` as `token`: the status and the body.
pub async fn view(app: &TestApp, token: &str, client: &str, query: &str) -> (u16, Value) {
    let response = send(
        app,
        Method::GET,
        Some(token),
        &format!("{}{query}", view_path(client)),
        None,
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A part's data, asserting it is `ok`.
pub fn ok<'a>(page: &'a Value, part: &str) -> &'a Value {
    assert_eq!(page[part]["status"], "ok", "{part}: {}", page[part]);
    &page[part]["data"]
}

/// A Salesforce account and contact with one open and one closed case, made as someone working in
/// Salesforce would; the contact's id.
pub async fn salesforce_contact(app: &TestApp) -> String {
    let sf = &app.salesforce;
    let account = sf
        .create(
            "Account",
            &json!({"Name": "Maison Dupont", "BillingCity": "Paris", "BillingCountry": "FR",
                    "Customer_Number__c": "MD-0042"}),
        )
        .await
        .unwrap();
    let contact = sf
        .create(
            "Contact",
            &json!({"AccountId": account, "FirstName": "Claire", "LastName": "Dupont",
                    "Email": "claire.360@example.com"}),
        )
        .await
        .unwrap();
    sf.create(
        "Case",
        &json!({"AccountId": account, "ContactId": contact, "Subject": "Strap repair",
                "Status": "New", "Priority": "High", "Origin": "Store"}),
    )
    .await
    .unwrap();
    sf.create(
        "Case",
        &json!({"AccountId": account, "ContactId": contact, "Subject": "Old question",
                "Status": "Closed", "Origin": "Web"}),
    )
    .await
    .unwrap();
    contact
}

/// Claire, a client of the Paris book whose profile holds `contact` (when given); her id.
pub async fn claire(app: &TestApp, advisor: &Person, contact: Option<&str>) -> String {
    let id = id_of(
        &client(
            app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire.360@example.com",
        )
        .await,
    );
    if let Some(contact) = contact {
        let marketer = marketer_token(app, "mkt.360@maison.example", "maison").await;
        let response = send(
            app,
            Method::POST,
            Some(&marketer),
            &format!("/api/v1/brands/maison/crm/profiles/{id}/identifiers"),
            Some(json!({ "kind": "salesforce_contact", "value": contact })),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    id
}

/// Logs an interaction of `advisor` with `client` at `at`; its id.
pub async fn interaction(
    app: &TestApp,
    advisor: &Person,
    client: &str,
    at: DateTime<Utc>,
) -> String {
    let response = send(
        app,
        Method::POST,
        Some(&advisor.token),
        &format!("/api/v1/brands/maison/clienteling/clients/{client}/interactions"),
        Some(json!({ "channel": "call", "context": "generic", "occurred_at": at })),
    )
    .await;
    assert_eq!(response.status(), 201);
    id_of(&response.json().await.unwrap())
}

/// A phone appointment of the advisor's with `client`, `days` ahead; its id.
pub async fn appointment(app: &TestApp, advisor: &Person, client: &str, days: i64) -> String {
    let starts_at = Utc::now() + Duration::days(days);
    let response = send(
        app,
        Method::POST,
        Some(&advisor.token),
        "/api/v1/brands/maison/clienteling/appointments",
        Some(
            json!({ "client_id": client, "store": "paris-1", "kind": "phone",
                     "starts_at": starts_at, "ends_at": starts_at + Duration::minutes(30) }),
        ),
    )
    .await;
    assert_eq!(response.status(), 201);
    id_of(&response.json().await.unwrap())
}

/// The Paris advisor and Claire (with a Salesforce contact).
pub async fn world(app: &TestApp) -> (Person, String) {
    let advisor = paris(app).await;
    let contact = salesforce_contact(app).await;
    let claire = claire(app, &advisor, Some(&contact)).await;
    (advisor, claire)
}
