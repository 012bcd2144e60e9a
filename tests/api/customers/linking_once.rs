//! The linking Account and Contact are upserted by the portal user id (`Portal_User_Id__c`): a lost answer
//! to their composite, repeated by the transport's retry, still leaves one Account and one Contact.

use serde_json::json;

use super::new_customer;
use crate::helpers::{Sandboxed, System, eventually, spawn_sandboxed_app_with};

#[tokio::test]
async fn a_lost_answer_to_the_account_and_contact_creation_makes_one_pair() {
    // Transport retries on, as in production.
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let accounts_before = app.sandbox().salesforce_records("Account").await.len();
    let contacts_before = app.sandbox().salesforce_records("Contact").await.len();
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "phase": "after", "status": 500, "times": 1}),
    );

    new_customer(&app, "once@example.com").await;
    let user_id: uuid::Uuid = eventually(15, "the customer to be linked", || async {
        sqlx::query_scalar(
            "SELECT l.user_id FROM customer_links l JOIN users u ON u.id = l.user_id
             WHERE u.email = 'once@example.com' AND l.status = 'linked'",
        )
        .fetch_optional(&app.db)
        .await
        .unwrap()
    })
    .await;

    let contacts = app.sandbox().salesforce_records("Contact").await;
    assert_eq!(contacts.len(), contacts_before + 1, "one contact");
    assert_eq!(
        app.sandbox().salesforce_records("Account").await.len(),
        accounts_before + 1,
        "one account"
    );
    let contact = contacts
        .iter()
        .find(|contact| contact["Email"] == "once@example.com")
        .expect("the contact");
    assert_eq!(contact["Portal_User_Id__c"], user_id.to_string().as_str());
    app.stop().await;
}
