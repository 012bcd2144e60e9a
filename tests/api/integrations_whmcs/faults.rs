//! Transport behaviour through the sandbox's fault injection.

use concierge::integrations::ProviderError;
use concierge::integrations::whmcs::{ClientRef, NewOrder, OrderItem};
use serde_json::json;

use super::{client_for, rejection_code, sandbox_with_client};
use crate::helpers::{System, settings_for_sandbox, spawn_sandbox};

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(System::Whmcs, json!({ "status": 500, "times": 1 }));

    let details = client.get_clients_details(ClientRef::Id(1), false).await;

    assert_eq!(details.unwrap().client_id(), Some(1));
    assert_eq!(sandbox.whmcs_calls("GetClientsDetails"), 2);
}

#[tokio::test]
async fn a_whmcs_error_message_is_a_rejection_and_is_not_retried() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(System::Whmcs, json!({ "error_code": "Client Not Found" }));

    let result = client.get_clients_details(ClientRef::Id(1), false).await;

    assert_eq!(rejection_code(result), "client_not_found");
    assert_eq!(sandbox.whmcs_calls("GetClientsDetails"), 1);
}

#[tokio::test]
async fn a_malformed_body_is_a_malformed_error_and_is_not_retried() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(System::Whmcs, json!({ "malformed": true }));

    let result = client.get_invoice(1001).await;

    assert!(
        matches!(result, Err(ProviderError::Malformed { .. })),
        "{result:?}"
    );
    assert_eq!(sandbox.whmcs_calls("GetInvoice"), 1);
}

#[tokio::test]
async fn a_truncated_body_is_a_malformed_error() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(
        System::Whmcs,
        json!({ "truncated": true, "operation": "GetProducts" }),
    );

    let result = client.get_products(&Default::default()).await;

    assert!(
        matches!(result, Err(ProviderError::Malformed { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_hanging_whmcs_times_out_as_unavailable_after_the_retries() {
    let sandbox = spawn_sandbox().await;
    let mut settings = settings_for_sandbox(&sandbox);
    settings.providers.timeout_ms = 300;
    let client = client_for(&settings);
    sandbox.inject_fault(System::Whmcs, json!({ "hang": true }));

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(
        sandbox.whmcs_calls("GetPayMethods"),
        1 + settings.providers.max_retries
    );
}

#[tokio::test]
async fn add_order_is_sent_once_even_when_the_answer_is_a_server_error() {
    let (sandbox, client) = sandbox_with_client().await;
    // The order is placed, then the answer is lost: repeating it would order twice.
    sandbox.inject_fault(
        System::Whmcs,
        json!({ "status": 503, "times": 1, "phase": "after", "operation": "AddOrder" }),
    );

    let result = client
        .add_order(&NewOrder {
            clientid: 1,
            paymentmethod: "stripe".into(),
            items: vec![OrderItem {
                pid: 101,
                billingcycle: None,
                qty: None,
            }],
            promocode: None,
            noinvoice: false,
            noemail: true,
        })
        .await;

    assert!(
        matches!(result, Err(ProviderError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(sandbox.whmcs_calls("AddOrder"), 1);
    let orders = client
        .get_orders(&concierge::integrations::whmcs::OrdersQuery {
            userid: Some(1),
            status: Some("Pending".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        orders.totalresults, 1,
        "the caller can find the order it placed"
    );
}

#[tokio::test]
async fn capture_payment_is_sent_once_on_a_server_error() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(
        System::Whmcs,
        json!({ "status": 500, "times": 1, "operation": "CapturePayment" }),
    );

    let result = client.capture_payment(1002, None).await;

    assert!(
        matches!(result, Err(ProviderError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(sandbox.whmcs_calls("CapturePayment"), 1);
}
