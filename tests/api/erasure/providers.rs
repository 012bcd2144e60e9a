//! Erasure in the linked systems through our real clients and the sandbox: receipts, idempotency, a system
//! down (retryable, then done once it is back) and a refusal (permanent).

use concierge::config::ContactErasure;
use concierge::customers::erasure::{erase_salesforce_contact, erase_whmcs_client};
use concierge::integrations::messaging::{Channel, MessagingClient, OutgoingMessage};
use concierge::integrations::whmcs::ClientRef;
use concierge::types::{ReceiptStatus, StepError};
use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use crate::helpers::{Sandboxed, System, TestApp, spawn_sandboxed_app_with};

async fn app() -> TestApp {
    spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await
}

#[tokio::test]
async fn the_salesforce_contact_is_anonymised_with_a_receipt_and_again_changes_nothing_personal() {
    let app = app().await;
    let demo = &CUSTOMERS[0];
    let receipt =
        erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Anonymise)
            .await
            .unwrap();
    assert_eq!(
        (
            receipt.system.as_str(),
            receipt.reference.as_str(),
            receipt.status
        ),
        ("salesforce", demo.contact_id, ReceiptStatus::Done)
    );
    assert!(
        receipt.detail.as_deref().unwrap().contains("204"),
        "{receipt:?}"
    );
    let contact = app
        .sandbox()
        .salesforce_record("Contact", demo.contact_id)
        .await;
    assert_eq!(contact["LastName"], "Erased");
    for field in [
        "FirstName",
        "Email",
        "Phone",
        "MailingStreet",
        "MailingCity",
        "MailingPostalCode",
    ] {
        assert!(contact[field].is_null(), "{field}: {contact}");
    }
    for value in [demo.email, demo.first_name, demo.last_name, demo.phone] {
        assert!(!contact.to_string().contains(value), "{value} in {contact}");
    }
    let patches = app
        .sandbox()
        .count(System::Salesforce, |r| r.method == "PATCH");
    assert_eq!(patches, 1);
    let again =
        erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Anonymise)
            .await
            .unwrap();
    assert_eq!(
        again.status,
        ReceiptStatus::Done,
        "PATCH is idempotent: the same values again"
    );
}

#[tokio::test]
async fn a_deleted_contact_is_done_and_a_404_on_delete_counts_as_done() {
    let app = app().await;
    let demo = &CUSTOMERS[1];
    let first = erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Delete)
        .await
        .unwrap();
    assert_eq!(first.status, ReceiptStatus::Done);
    assert!(
        !app.sandbox()
            .salesforce_records("Contact")
            .await
            .iter()
            .any(|record| record["Id"] == demo.contact_id)
    );
    let second = erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Delete)
        .await
        .unwrap();
    assert_eq!(second.status, ReceiptStatus::AlreadyDone);
    assert!(second.detail.as_deref().unwrap().contains("404"));
}

#[tokio::test]
async fn the_whmcs_client_is_anonymised_then_closed_with_a_receipt() {
    let app = app().await;
    let demo = &CUSTOMERS[0];
    let id = u64::from(demo.whmcs_client_id);
    let receipt = erase_whmcs_client(&app.whmcs, id).await.unwrap();
    assert_eq!(
        (
            receipt.system.as_str(),
            receipt.reference.clone(),
            receipt.status
        ),
        ("whmcs", id.to_string(), ReceiptStatus::Done)
    );
    let actions: Vec<String> = app.sandbox().operations(System::Whmcs);
    let update = actions
        .iter()
        .position(|a| a.ends_with("UpdateClient"))
        .unwrap();
    let close = actions
        .iter()
        .position(|a| a.ends_with("CloseClient"))
        .unwrap();
    assert!(update < close, "{actions:?}");
    // The old address finds nobody; the client is Closed and holds placeholders only.
    assert!(
        app.whmcs
            .get_clients_details(ClientRef::Email(demo.email), false)
            .await
            .is_err()
    );
    let details = app
        .whmcs
        .get_clients_details(ClientRef::Id(id), false)
        .await
        .unwrap();
    let shown = format!("{details:?}");
    let raw: Value = app
        .whmcs
        .call(
            "GetClientsDetails",
            &[concierge::integrations::whmcs::param("clientid", id)],
        )
        .await
        .unwrap();
    assert_eq!(raw["status"], "Closed", "{raw}");
    assert_eq!(raw["email"], format!("erased+{id}@erased.invalid"));
    for value in [
        demo.email,
        demo.first_name,
        demo.last_name,
        demo.phone,
        demo.address1,
        demo.postcode,
    ] {
        assert!(!raw.to_string().contains(value), "{value} in {raw}");
        assert!(!shown.contains(value), "{value} in {shown}");
    }
    // The old password no longer signs in.
    assert!(
        app.whmcs
            .validate_login(demo.email, &demo.password.to_owned().into())
            .await
            .is_err()
    );
    let again = erase_whmcs_client(&app.whmcs, id).await.unwrap();
    assert_eq!(
        again.status,
        ReceiptStatus::Done,
        "UpdateClient and CloseClient again: no error"
    );
    let missing = erase_whmcs_client(&app.whmcs, 999_999).await.unwrap();
    assert_eq!(missing.status, ReceiptStatus::AlreadyDone);
}

#[tokio::test]
async fn the_messaging_service_forgets_a_contact_by_its_hash_only() {
    let app = app().await;
    let messaging = MessagingClient::new(&app.state.settings.providers).unwrap();
    let address = "Forget.Me@example.com";
    messaging
        .send(
            &OutgoingMessage::new(Channel::Email, address, "Dear Forget Me"),
            "k-1",
        )
        .await
        .unwrap();
    messaging
        .send(
            &OutgoingMessage::new(Channel::Email, "keep@example.com", "Dear Keep"),
            "k-2",
        )
        .await
        .unwrap();
    let receipts = concierge::crm::messages::erasure::forget_addresses(
        &messaging,
        &["forget.me@example.com".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].system, "messaging");
    assert_eq!(receipts[0].status, ReceiptStatus::Done);
    assert!(receipts[0].reference.starts_with("sha256:"));
    assert!(!receipts[0].reference.to_lowercase().contains("forget"));
    assert!(app.sandbox().messages_to(address).await.is_empty());
    assert_eq!(
        app.sandbox().messages_to("keep@example.com").await.len(),
        1,
        "others kept"
    );
    // The address never travelled in a URL.
    let paths = app.sandbox().paths(System::Messaging);
    assert!(
        paths.iter().all(|p| !p.to_lowercase().contains("forget")),
        "{paths:?}"
    );
    let again =
        concierge::crm::messages::erasure::forget_addresses(&messaging, &[address.to_owned()])
            .await
            .unwrap();
    assert_eq!(again[0].status, ReceiptStatus::AlreadyDone);
}

#[tokio::test]
async fn a_system_down_is_a_retryable_failure_and_the_step_completes_once_it_is_back() {
    let app = app().await;
    let demo = &CUSTOMERS[2];
    let messaging = MessagingClient::new(&app.state.settings.providers).unwrap();
    messaging
        .send(
            &OutgoingMessage::new(Channel::Email, demo.email, "Hello"),
            "k-3",
        )
        .await
        .unwrap();
    for system in [System::Salesforce, System::Whmcs, System::Messaging] {
        app.sandbox().inject_fault(system, json!({ "status": 503 }));
    }
    let salesforce =
        erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Anonymise).await;
    let whmcs = erase_whmcs_client(&app.whmcs, u64::from(demo.whmcs_client_id)).await;
    let forgotten =
        concierge::crm::messages::erasure::forget_addresses(&messaging, &[demo.email.to_owned()])
            .await;
    for (system, outcome) in [
        ("salesforce", salesforce.map(drop)),
        ("whmcs", whmcs.map(drop)),
        ("messaging", forgotten.map(drop)),
    ] {
        match outcome {
            Err(error @ StepError::Retryable(_)) => assert!(error.is_retryable()),
            other => panic!("{system}: {other:?}"),
        }
    }
    assert_eq!(
        app.sandbox()
            .salesforce_record("Contact", demo.contact_id)
            .await["Email"],
        demo.email,
        "nothing half-done"
    );
    for system in [System::Salesforce, System::Whmcs, System::Messaging] {
        app.sandbox().clear_faults(system);
    }
    let salesforce =
        erase_salesforce_contact(&app.salesforce, demo.contact_id, ContactErasure::Anonymise)
            .await
            .unwrap();
    let whmcs = erase_whmcs_client(&app.whmcs, u64::from(demo.whmcs_client_id))
        .await
        .unwrap();
    let forgotten =
        concierge::crm::messages::erasure::forget_addresses(&messaging, &[demo.email.to_owned()])
            .await
            .unwrap();
    assert_eq!(
        [salesforce.status, whmcs.status, forgotten[0].status],
        [ReceiptStatus::Done; 3]
    );
}

#[tokio::test]
async fn a_refusal_is_a_permanent_failure() {
    let app = app().await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 400, "error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "operation": "Contact" }),
    );
    let refused = erase_salesforce_contact(
        &app.salesforce,
        CUSTOMERS[0].contact_id,
        ContactErasure::Anonymise,
    )
    .await;
    assert!(
        matches!(refused, Err(StepError::Permanent(_))),
        "{refused:?}"
    );
}
