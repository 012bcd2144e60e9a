//! Property tests: invoice cursors and the WHMCS billing mappers answer every input without a panic.

use chrono::NaiveDate;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::cursor::{Cursor, CursorCodec};
use super::domain::{Invoice, InvoiceDetail, InvoiceFilter, PaymentMethod};
use super::whmcs::{InvoiceInCurrency, PaymentLink};
use crate::integrations::whmcs::raw;
use crate::testing::{config, hostile_text, mutated};

fn codec() -> CursorCodec {
    CursorCodec::new(&SecretString::from(
        "2LnwkP4EwMJVzbAjH2dCP/rRfgwNkbEo4sYA0CGYgic=".to_owned(),
    ))
}

fn summary() -> serde_json::Value {
    json!({
        "id": "1002", "userid": "1", "invoicenum": "INV-1002", "date": "2026-10-01", "duedate": "2026-10-15",
        "datepaid": "0000-00-00 00:00:00", "subtotal": "2980.00", "credit": "0.00", "tax": "0.00",
        "total": "2980.00", "status": "Unpaid", "paymentmethod": "stripe", "currencycode": "JPY",
        "currencyprefix": "¥", "currencysuffix": ""
    })
}

fn invoice() -> serde_json::Value {
    json!({
        "result": "success", "invoiceid": "1002", "invoicenum": "", "userid": "1", "date": "2026-10-01",
        "duedate": "2026-10-15", "datepaid": "2026-10-02 10:00:00", "subtotal": "2980.00", "credit": "0.00",
        "tax": "0.00", "total": "2980.00", "balance": "2980.00", "status": "Paid", "paymentmethod": "stripe",
        "notes": "",
        "items": { "item": [ { "id": "1", "type": "Hosting", "relid": "5", "description": "SIM plan", "amount": "2980.00", "taxed": "0" } ] },
        "transactions": { "transaction": [ { "id": "9", "gateway": "stripe", "date": "2026-10-02 10:00:00", "description": "",
                                             "amountin": "2980.00", "fees": "0.00", "amountout": "0.00", "transid": "ch_1" } ] }
    })
}

fn pay_method() -> serde_json::Value {
    json!({
        "id": 7, "type": "RemoteCreditCard", "description": "Main card", "gateway_name": "stripe",
        "card_last_four": "4242", "expiry_date": "02/28", "card_type": "Visa", "bank_name": "",
        "last_updated": "2026-01-01 00:00:00"
    })
}

fn any_cursor() -> impl Strategy<Value = Cursor> {
    (
        any::<u64>(),
        0i32..3_000_000,
        any::<u64>(),
        prop::option::of(prop::sample::select(vec![
            InvoiceFilter::Unpaid,
            InvoiceFilter::Overdue,
            InvoiceFilter::Paid,
            InvoiceFilter::Cancelled,
        ])),
    )
        .prop_map(|(offset, days, last_id, status)| Cursor {
            offset,
            last_issued_on: NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(NaiveDate::MIN),
            last_id,
            status,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_cursor_only_if_this_server_signed_it(text in hostile_text()) {
        prop_assert!(codec().decode(Uuid::nil(), &text).is_err());
    }

    #[test]
    fn a_cursor_reads_back_for_its_customer_only(cursor in any_cursor(), flip in any::<prop::sample::Index>()) {
        let codec = codec();
        let customer = Uuid::from_u128(7);
        let text = codec.encode(customer, &cursor);
        prop_assert_eq!(codec.decode(customer, &text).ok(), Some(cursor));
        prop_assert!(codec.decode(Uuid::from_u128(8), &text).is_err());
        // Any one changed character breaks the signature (or the encoding).
        let mut bytes = text.into_bytes();
        let at = flip.index(bytes.len());
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(codec.decode(customer, &tampered).is_err());
    }

    #[test]
    fn a_listed_invoice_with_drifted_fields_maps_or_is_refused(body in mutated(summary())) {
        if let Ok(raw) = serde_json::from_value::<raw::InvoiceSummary>(body) {
            let _ = Invoice::try_from(raw);
        }
    }

    #[test]
    fn an_invoice_with_drifted_fields_maps_or_is_refused(body in mutated(invoice()), currency in hostile_text()) {
        if let Ok(invoice) = serde_json::from_value::<raw::Invoice>(body) {
            let _ = InvoiceDetail::try_from(InvoiceInCurrency { invoice, currency });
        }
    }

    #[test]
    fn a_pay_method_with_drifted_fields_maps_or_is_refused(body in mutated(pay_method())) {
        if let Ok(raw) = serde_json::from_value::<raw::PayMethod>(body)
            && let Ok(method) = PaymentMethod::try_from(raw)
            && let Some(last_four) = method.last_four
        {
            prop_assert_eq!(last_four.len(), 4);
        }
    }

    #[test]
    fn a_single_sign_on_answer_is_a_web_link_or_refused(url in prop_oneof![hostile_text(), "https?://\\PC{0,60}"]) {
        let token: raw::SsoToken = serde_json::from_value(json!({ "access_token": "t", "redirect_url": url }))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(link) = PaymentLink::try_from(token) {
            prop_assert!(link.url.starts_with("http"));
        }
    }
}

#[test]
fn the_samples_map() {
    let summary: raw::InvoiceSummary =
        serde_json::from_value(summary()).unwrap_or_else(|e| panic!("{e}"));
    assert!(Invoice::try_from(summary).is_ok());
    let invoice: raw::Invoice = serde_json::from_value(invoice()).unwrap_or_else(|e| panic!("{e}"));
    let detail = InvoiceDetail::try_from(InvoiceInCurrency {
        invoice,
        currency: "JPY".into(),
    });
    assert!(detail.is_ok(), "{detail:?}");
    let method: raw::PayMethod =
        serde_json::from_value(pay_method()).unwrap_or_else(|e| panic!("{e}"));
    assert!(PaymentMethod::try_from(method).is_ok());
}
