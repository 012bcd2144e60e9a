//! CreateInvoice, UpdateInvoice and UpgradeProduct through the client, against the sandbox: WHMCS's
//! parameter names, its answers and its refusals; sent once (a lost answer is not repeated).

use concierge::integrations::whmcs::{NewInvoice, NewInvoiceLine, ProductUpgrade, raw};
use serde_json::json;

use super::{rejection_code, sandbox_with_client};
use crate::helpers::System;

fn top_up_invoice(userid: u64) -> NewInvoice {
    NewInvoice {
        userid,
        paymentmethod: "stripe".into(),
        lines: vec![NewInvoiceLine {
            description: "SIM data top-up 1024 MB".into(),
            amount: raw::Amount::from_hundredths(50_000),
            taxed: false,
        }],
        notes: "Concierge top-up 0190".into(),
    }
}

fn upgrade_to(newproductid: u64) -> ProductUpgrade {
    ProductUpgrade {
        serviceid: 501,
        newproductid,
        newproductbillingcycle: "monthly".into(),
        paymentmethod: "stripe".into(),
    }
}

#[tokio::test]
async fn an_invoice_is_created_unpaid_with_its_lines_and_notes_then_cancelled() {
    let (sandbox, client) = sandbox_with_client().await;

    let created = client.create_invoice(&top_up_invoice(1)).await.unwrap();
    let invoice = client.get_invoice(created.invoiceid).await.unwrap();
    assert_eq!(invoice.status, "Unpaid");
    assert_eq!(invoice.total, raw::Amount::from_hundredths(50_000));
    assert_eq!(invoice.notes, "Concierge top-up 0190");
    assert_eq!(invoice.items.len(), 1);

    client
        .set_invoice_status(created.invoiceid, "Cancelled")
        .await
        .unwrap();
    assert_eq!(
        client.get_invoice(created.invoiceid).await.unwrap().status,
        "Cancelled"
    );
    assert_eq!(
        rejection_code(client.create_invoice(&top_up_invoice(999)).await),
        "client_id_not_found"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn create_invoice_is_sent_once_even_when_its_answer_is_lost() {
    let (sandbox, client) = sandbox_with_client().await;
    sandbox.inject_fault(
        System::Whmcs,
        json!({ "status": 503, "phase": "after", "operation": "CreateInvoice", "times": 1 }),
    );

    assert!(client.create_invoice(&top_up_invoice(1)).await.is_err());
    assert_eq!(sandbox.whmcs_calls("CreateInvoice"), 1);
    sandbox.stop().await;
}

#[tokio::test]
async fn an_upgrade_is_quoted_without_change_then_applied_once() {
    let (sandbox, client) = sandbox_with_client().await;

    let orders = sandbox.whmcs_orders().await.len();
    let quote = client
        .upgrade_product(&upgrade_to(104), true)
        .await
        .unwrap();
    assert_eq!(quote.price, Some(raw::Amount::from_hundredths(200_000)));
    assert_eq!(
        sandbox.whmcs_orders().await.len(),
        orders,
        "nothing ordered by a quote"
    );

    let done = client
        .upgrade_product(&upgrade_to(104), false)
        .await
        .unwrap();
    assert!(done.orderid.is_some());
    assert!(
        done.invoiceid.is_some_and(|id| id > 0),
        "the difference is invoiced"
    );
    assert_eq!(
        rejection_code(client.upgrade_product(&upgrade_to(104), true).await),
        "unable_to_upgrade_to_the_same_product"
    );
    assert_eq!(
        rejection_code(client.upgrade_product(&upgrade_to(9999), true).await),
        "invalid_new_product_id"
    );
    sandbox.inject_fault(
        System::Whmcs,
        json!({ "status": 503, "phase": "after", "operation": "UpgradeProduct", "times": 1 }),
    );
    assert!(
        client
            .upgrade_product(&upgrade_to(103), false)
            .await
            .is_err()
    );
    assert_eq!(
        sandbox.whmcs_calls("UpgradeProduct"),
        5,
        "the lost one was not repeated"
    );
    sandbox.stop().await;
}
