//! GetInvoices, GetInvoice, GetPayMethods, CapturePayment.

use chrono::{NaiveDate, Utc};
use concierge::integrations::whmcs::{InvoiceQuery, InvoiceStatus, param, raw::Amount};
use concierge_sandbox::demo;
use serde_json::Value;

use super::{rejection_code, sandbox_with_client};

fn invoices_of(client: u64, status: InvoiceStatus) -> InvoiceQuery {
    InvoiceQuery {
        userid: Some(client),
        status: Some(status),
        ..InvoiceQuery::default()
    }
}

#[tokio::test]
async fn invoices_are_filtered_by_status_newest_first() {
    let (_sandbox, client) = sandbox_with_client().await;

    let unpaid = client
        .get_invoices(&invoices_of(1, InvoiceStatus::Unpaid))
        .await
        .unwrap();
    let paid = client
        .get_invoices(&invoices_of(1, InvoiceStatus::Paid))
        .await
        .unwrap();
    let cancelled = client
        .get_invoices(&invoices_of(1, InvoiceStatus::Cancelled))
        .await
        .unwrap();

    let ids = |list: &concierge::integrations::whmcs::raw::InvoiceList| {
        list.invoices.iter().map(|i| i.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&unpaid), [1003, 1002]);
    assert_eq!(unpaid.totalresults, 2);
    assert_eq!(ids(&paid), [1001]);
    assert!(paid.invoices[0].datepaid.is_some());
    assert_eq!(paid.invoices[0].total, Amount::from_units(3470));
    assert_eq!(paid.invoices[0].currencycode, "JPY");
    assert_eq!(ids(&cancelled), [1004]);
    assert!(unpaid.invoices.iter().all(|i| i.datepaid.is_none()));
}

#[tokio::test]
async fn overdue_invoices_are_the_unpaid_ones_past_their_due_date() {
    let (_sandbox, client) = sandbox_with_client().await;
    let today = Utc::now().date_naive();
    let mut expected: Vec<u64> = demo::INVOICES
        .iter()
        .filter(|i| i.client_id == 1 && i.status == "Unpaid")
        .filter(|i| NaiveDate::parse_from_str(i.due_date, "%Y-%m-%d").unwrap() < today)
        .map(|i| u64::from(i.id))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));

    let overdue = client
        .get_invoices(&invoices_of(1, InvoiceStatus::Overdue))
        .await
        .unwrap();

    let ids: Vec<u64> = overdue.invoices.iter().map(|i| i.id).collect();
    assert_eq!(ids, expected);
    assert!(overdue.invoices.iter().all(|i| i.status == "Unpaid"));
}

#[tokio::test]
async fn invoices_page_with_limitstart_and_limitnum() {
    let (_sandbox, client) = sandbox_with_client().await;
    let page = |start: u64| InvoiceQuery {
        userid: Some(1),
        limitstart: Some(start),
        limitnum: Some(3),
        ..InvoiceQuery::default()
    };

    let first = client.get_invoices(&page(0)).await.unwrap();
    let second = client.get_invoices(&page(3)).await.unwrap();
    let beyond = client.get_invoices(&page(6)).await.unwrap();

    assert_eq!(
        (first.totalresults, first.startnumber, first.numreturned),
        (4, 0, 3)
    );
    assert_eq!(
        (second.totalresults, second.startnumber, second.numreturned),
        (4, 3, 1)
    );
    let ids: Vec<u64> = first
        .invoices
        .iter()
        .chain(&second.invoices)
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, [1004, 1003, 1002, 1001]);
    assert!(beyond.invoices.is_empty());
    assert_eq!(beyond.totalresults, 4);
}

#[tokio::test]
async fn invoices_order_by_due_date_ascending_when_asked() {
    let (_sandbox, client) = sandbox_with_client().await;

    let list = client
        .get_invoices(&InvoiceQuery {
            userid: Some(1),
            orderby: Some("duedate".into()),
            order: Some("asc".into()),
            ..InvoiceQuery::default()
        })
        .await
        .unwrap();

    let ids: Vec<u64> = list.invoices.iter().map(|i| i.id).collect();
    assert_eq!(ids, [1004, 1001, 1002, 1003]);
}

#[tokio::test]
async fn invoices_come_nested_with_string_numbers_and_an_empty_result_is_an_empty_array() {
    let (_sandbox, client) = sandbox_with_client().await;

    let some: Value = client
        .call(
            "GetInvoices",
            &[param("userid", 1), param("status", "Paid")],
        )
        .await
        .unwrap();
    let none: Value = client
        .call(
            "GetInvoices",
            &[param("userid", 2), param("status", "Cancelled")],
        )
        .await
        .unwrap();
    let none_typed = client
        .get_invoices(&invoices_of(2, InvoiceStatus::Cancelled))
        .await
        .unwrap();

    assert_eq!(some["invoices"]["invoice"][0]["id"], "1001");
    assert_eq!(some["invoices"]["invoice"][0]["total"], "3470.00");
    assert_eq!(some["totalresults"], 1);
    assert_eq!(none["invoices"], serde_json::json!([]));
    assert_eq!(none["numreturned"], 0);
    assert!(none_typed.invoices.is_empty());
}

#[tokio::test]
async fn a_paid_invoice_has_its_items_and_transactions() {
    let (_sandbox, client) = sandbox_with_client().await;

    let invoice = client.get_invoice(1001).await.unwrap();

    assert_eq!(invoice.invoiceid, 1001);
    assert_eq!(invoice.userid, 1);
    assert_eq!(invoice.status, "Paid");
    assert_eq!(invoice.items.len(), 2);
    assert_eq!(invoice.items[0].kind, "Hosting");
    assert_eq!(
        invoice.items[0].relid,
        Some(501),
        "the SIM service's charge"
    );
    assert_eq!(invoice.items[1].amount, Amount::from_units(490));
    assert_eq!(invoice.transactions.len(), 1);
    assert_eq!(invoice.transactions[0].amountin, Amount::from_units(3470));
    assert_eq!(invoice.balance, Amount::ZERO);
}

#[tokio::test]
async fn an_unpaid_invoice_has_transactions_as_an_empty_string() {
    let (_sandbox, client) = sandbox_with_client().await;

    let wire: Value = client
        .call("GetInvoice", &[param("invoiceid", 1003)])
        .await
        .unwrap();
    let invoice = client.get_invoice(1003).await.unwrap();

    assert_eq!(wire["transactions"], "");
    assert!(invoice.transactions.is_empty());
    assert_eq!(invoice.balance, Amount::from_units(2980 + 2500));
    assert_eq!(invoice.items[1].kind, "", "a manual line");
}

#[tokio::test]
async fn an_unknown_invoice_is_rejected_through_the_status_shape() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client.get_invoice(999).await;

    assert_eq!(rejection_code(result), "invoice_id_not_found");
}

#[tokio::test]
async fn pay_methods_list_the_stored_card_or_nothing() {
    let (_sandbox, client) = sandbox_with_client().await;

    let with_card = client.get_pay_methods(1).await.unwrap();
    let without = client.get_pay_methods(2).await.unwrap();
    let unknown = client.get_pay_methods(77).await;

    assert_eq!(with_card.clientid, Some(1));
    assert_eq!(with_card.paymethods.len(), 1);
    let card = &with_card.paymethods[0];
    assert_eq!(card.kind, "RemoteCreditCard");
    assert_eq!(card.card_type, "Visa");
    assert_eq!(card.card_last_four, "4242");
    assert_eq!(card.expiry_date, "02/28");
    assert_eq!(card.gateway_name, "stripe");
    assert!(without.paymethods.is_empty());
    assert_eq!(rejection_code(unknown), "client_id_not_found");
}

#[tokio::test]
async fn capturing_an_unpaid_invoice_pays_it_and_a_second_capture_is_refused() {
    let (sandbox, client) = sandbox_with_client().await;

    client.capture_payment(1002, None).await.unwrap();
    let paid = client.get_invoice(1002).await.unwrap();
    let again = client.capture_payment(1002, None).await;

    assert_eq!(paid.status, "Paid");
    assert!(paid.datepaid.is_some());
    assert_eq!(paid.balance, Amount::ZERO);
    assert_eq!(paid.transactions.len(), 1);
    assert_eq!(paid.transactions[0].amountin, Amount::from_units(2980));
    assert_eq!(rejection_code(again), "invoice_not_found_or_not_unpaid");
    assert_eq!(sandbox.whmcs_calls("CapturePayment"), 2);
}

#[tokio::test]
async fn capturing_without_a_stored_card_fails_and_leaves_the_invoice_unpaid() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client.capture_payment(2002, None).await;
    let invoice = client.get_invoice(2002).await.unwrap();

    assert_eq!(rejection_code(result), "payment_attempt_failed");
    assert_eq!(invoice.status, "Unpaid");
}

#[tokio::test]
async fn capturing_a_paid_invoice_is_refused() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client.capture_payment(1001, None).await;

    assert_eq!(rejection_code(result), "invoice_not_found_or_not_unpaid");
}
