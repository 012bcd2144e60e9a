//! Linking once the email is verified: the `LinkCustomer` job finds or creates the customer's WHMCS client and
//! Salesforce Account/Contact and records their ids; `GET /me` shows the result.

use concierge::integrations::whmcs::ClientRef;
use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use super::{me, new_customer, token, whmcs_client};
use crate::helpers::{
    Sandboxed, System, TestApp, eventually, get_as, problem, sign_in_verified,
    spawn_sandboxed_app_with,
};

async fn register_mallory(app: &TestApp) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &json!({ "email": "mallory@example.com", "password": crate::auth::PASSWORD,
                        "first_name": "Mallory", "last_name": "Example" }),
        )
        .send()
        .await
        .unwrap()
}

async fn linked_profile(app: &TestApp, access: &str) -> Value {
    eventually(15, "the customer to be linked", || async {
        let profile = me(app, access).await;
        (profile["link_status"] == "linked").then_some(profile)
    })
    .await
}

async fn link_row(
    app: &TestApp,
    email: &str,
) -> (String, Option<i64>, Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT l.status, l.whmcs_client_id, l.salesforce_account_id, l.salesforce_contact_id
         FROM customer_links l JOIN users u ON u.id = l.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn registration_creates_the_customers_records_in_both_systems() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let contacts_before = app.sandbox().salesforce_records("Contact").await.len();

    let access = new_customer(&app, "kenji@example.com").await;
    let profile = linked_profile(&app, &access).await;

    assert_eq!(profile["email"], "kenji@example.com");
    assert_eq!(profile["first_name"], "Hanako");
    assert_eq!(
        profile["address"],
        Value::Null,
        "sign-up asks for no address"
    );
    let client = whmcs_client(&app, ClientRef::Email("kenji@example.com")).await;
    assert_eq!(client.firstname, "Hanako");
    assert_eq!(client.lastname, "Yamada");
    let (status, whmcs_id, account_id, contact_id) = link_row(&app, "kenji@example.com").await;
    assert_eq!(status, "linked");
    assert_eq!(whmcs_id, client.client_id().map(|id| id as i64));
    let contacts = app.sandbox().salesforce_records("Contact").await;
    assert_eq!(contacts.len(), contacts_before + 1);
    let contact = contacts
        .iter()
        .find(|contact| contact["Email"] == "kenji@example.com")
        .expect("a new contact");
    assert_eq!(contact["Id"].as_str(), contact_id.as_deref());
    assert_eq!(contact["AccountId"].as_str(), account_id.as_deref());
    assert_eq!(contact["LastName"], "Yamada");
    let accounts = app.sandbox().salesforce_records("Account").await;
    assert!(
        accounts
            .iter()
            .any(|account| account["Id"].as_str() == account_id.as_deref()
                && account["Name"] == "Hanako Yamada")
    );
    app.stop().await;
}

#[tokio::test]
async fn linking_waits_out_a_whmcs_outage_at_registration() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "status": 503 }));

    let access = new_customer(&app, "late@example.com").await;
    eventually(10, "a failed linking attempt", || async {
        let error: Option<String> = sqlx::query_scalar(
            "SELECT last_error FROM customer_links l JOIN users u ON u.id = l.user_id WHERE u.email = $1",
        )
        .bind("late@example.com")
        .fetch_one(&app.db)
        .await
        .unwrap();
        error
    })
    .await;
    assert_eq!(me(&app, &access).await["link_status"], "linking");

    app.sandbox().clear_faults(System::Whmcs);
    let profile = linked_profile(&app, &access).await;

    assert_eq!(profile["email"], "late@example.com");
    assert_eq!(app.sandbox().whmcs_calls("AddClient"), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_email_already_known_to_both_systems_reuses_their_records() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];
    let contacts_before = app.sandbox().salesforce_records("Contact").await.len();
    let accounts_before = app.sandbox().salesforce_records("Account").await.len();

    let access = new_customer(&app, taro.email).await;
    let profile = linked_profile(&app, &access).await;

    let (_, whmcs_id, account_id, contact_id) = link_row(&app, taro.email).await;
    assert_eq!(whmcs_id, Some(i64::from(taro.whmcs_client_id)));
    assert_eq!(account_id.as_deref(), Some(taro.account_id));
    assert_eq!(contact_id.as_deref(), Some(taro.contact_id));
    assert_eq!(app.sandbox().whmcs_calls("AddClient"), 0);
    assert_eq!(
        app.sandbox().salesforce_records("Contact").await.len(),
        contacts_before
    );
    assert_eq!(
        app.sandbox().salesforce_records("Account").await.len(),
        accounts_before
    );
    // The profile comes from the existing records, not from the name given at sign-up.
    assert_eq!(profile["first_name"], taro.first_name);
    assert_eq!(profile["customer_number"], taro.customer_number);
    app.stop().await;
}

#[tokio::test]
async fn linking_refuses_a_whmcs_client_whose_email_differs() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];
    // WHMCS answers the lookup for Mallory's address with Taro's client.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "operation": "GetClientsDetails", "body": {
            "result": "success", "userid": taro.whmcs_client_id, "id": taro.whmcs_client_id,
            "client_id": taro.whmcs_client_id, "email": taro.email, "firstname": taro.first_name,
            "lastname": taro.last_name } }),
    );
    assert_eq!(register_mallory(&app).await.status(), 202);
    let token = token(&sign_in_verified(&app, "mallory@example.com", crate::auth::PASSWORD).await);

    refused_to_link(&app, "mallory@example.com").await;
    assert_eq!(app.sandbox().whmcs_calls("AddClient"), 0);
    let invoices = get_as(&app, &token, "/api/v1/billing/invoices").await;
    assert_eq!(problem(invoices).await["code"], "account-linking");
    app.stop().await;
}

#[tokio::test]
async fn linking_refuses_a_salesforce_contact_whose_email_differs() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "body": { "totalSize": 1, "done": true, "records": [{
            "attributes": { "type": "Contact" }, "Id": taro.contact_id, "AccountId": taro.account_id,
            "Email": taro.email }] } }),
    );
    assert_eq!(register_mallory(&app).await.status(), 202);
    sign_in_verified(&app, "mallory@example.com", crate::auth::PASSWORD).await;

    refused_to_link(&app, "mallory@example.com").await;
    app.stop().await;
}

/// The linking job ran, failed, and recorded nothing of the wrong customer.
async fn refused_to_link(app: &TestApp, email: &str) {
    let error: String = eventually(20, "a refused linking attempt", || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT l.last_error FROM customer_links l JOIN users u ON u.id = l.user_id WHERE u.email = $1",
        )
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
    })
    .await;
    assert!(error.contains("email differs"), "{error}");
    assert_eq!(
        link_row(app, email).await,
        ("linking".to_owned(), None, None, None)
    );
}
