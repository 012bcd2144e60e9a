//! GetInvoices, GetInvoice, CreateInvoice, UpdateInvoice, GetPayMethods, AddPayMethod, CapturePayment.
//!
//! A client's pay methods are kept in WHMCS's order of preference: the first is the client's default, the
//! one CapturePayment charges (CapturePayment takes no pay method, only `invoiceid` and `cvv`).

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::Context;
use super::params::Params;
use super::reply::{
    self, Answer, CURRENCY_CODE, CURRENCY_PREFIX, ZERO_DATETIME, error, money, nested, success,
};
use super::store::{GATEWAY, Invoice, InvoiceItem, PayMethod, Store};

pub fn get_invoices(params: &Params, store: &Store, context: &Context) -> Answer {
    let userid = params
        .get("userid")
        .map(|_| params.id("userid").unwrap_or(0));
    let status = params.get("status");
    let mut invoices: Vec<&Invoice> = store
        .invoices
        .iter()
        .filter(|invoice| userid.is_none_or(|id| invoice.userid == id))
        .filter(|invoice| match status {
            None => true,
            Some(s) if s.eq_ignore_ascii_case("Overdue") => invoice.is_overdue(context.today),
            Some(s) => invoice.status.eq_ignore_ascii_case(s),
        })
        .collect();
    let descending = params
        .get("order")
        .is_none_or(|order| !order.eq_ignore_ascii_case("asc"));
    let order_by = params.get("orderby").unwrap_or("id").to_ascii_lowercase();
    invoices.sort_by(|a, b| {
        let ordering = match order_by.as_str() {
            "date" => a.date.cmp(&b.date),
            "duedate" => a.duedate.cmp(&b.duedate),
            "total" => a.total().cmp(&b.total()),
            "status" => a.status.cmp(&b.status),
            _ => Ordering::Equal,
        }
        .then(a.id.cmp(&b.id));
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    let (start, size) = params.page();
    let page: Vec<Value> = invoices
        .iter()
        .skip(start)
        .take(size)
        .map(|invoice| summary(invoice, store))
        .collect();
    success(json!({
        "totalresults": invoices.len(),
        "startnumber": start,
        "numreturned": page.len(),
        "invoices": nested("invoice", page),
    }))
}

/// An invoice as GetInvoices lists it: every value a string.
fn summary(invoice: &Invoice, store: &Store) -> Value {
    let client = store.client(invoice.userid);
    let total = money(invoice.total());
    json!({
        "id": invoice.id.to_string(),
        "userid": invoice.userid.to_string(),
        "firstname": client.map(|c| c.firstname.as_str()).unwrap_or_default(),
        "lastname": client.map(|c| c.lastname.as_str()).unwrap_or_default(),
        "companyname": client.map(|c| c.companyname.as_str()).unwrap_or_default(),
        "invoicenum": "",
        "date": reply::date(invoice.date),
        "duedate": reply::date(invoice.duedate),
        "datepaid": reply::datetime(invoice.datepaid),
        "last_capture_attempt": reply::datetime(invoice.last_capture_attempt),
        "date_refunded": ZERO_DATETIME,
        "date_cancelled": ZERO_DATETIME,
        "subtotal": total,
        "credit": "0.00",
        "tax": "0.00",
        "tax2": "0.00",
        "total": total,
        "taxrate": "0.00",
        "taxrate2": "0.00",
        "status": invoice.status,
        "paymentmethod": invoice.paymentmethod,
        "notes": invoice.notes,
        "currencycode": CURRENCY_CODE,
        "currencyprefix": CURRENCY_PREFIX,
        "currencysuffix": "",
    })
}

pub fn get_invoice(params: &Params, store: &Store) -> Answer {
    // The one action that reports "not found" with `status` instead of `result`.
    let invoice = params
        .id("invoiceid")
        .and_then(|id| store.invoices.iter().find(|invoice| invoice.id == id))
        .ok_or_else(|| json!({ "status": "error", "message": "Invoice ID Not Found" }))?;
    let total = money(invoice.total());
    let items: Vec<Value> = invoice
        .items
        .iter()
        .map(|item| {
            json!({
                "id": item.id.to_string(),
                "type": item.kind,
                "relid": item.relid.to_string(),
                "description": item.description,
                "amount": money(item.amount),
                "taxed": "0",
            })
        })
        .collect();
    let transactions: Vec<Value> = invoice
        .transactions
        .iter()
        .map(|transaction| {
            json!({
                "id": transaction.id.to_string(),
                "userid": invoice.userid.to_string(),
                "currency": "0",
                "gateway": transaction.gateway,
                "date": reply::datetime(Some(transaction.date)),
                "description": "Invoice Payment",
                "amountin": money(transaction.amount),
                "fees": "0.00",
                "amountout": "0.00",
                "rate": "1.00000",
                "transid": transaction.transid,
                "invoiceid": invoice.id.to_string(),
                "refundid": "0",
            })
        })
        .collect();
    success(json!({
        "invoiceid": invoice.id.to_string(),
        "invoicenum": "",
        "userid": invoice.userid.to_string(),
        "date": reply::date(invoice.date),
        "duedate": reply::date(invoice.duedate),
        "datepaid": reply::datetime(invoice.datepaid),
        "lastcaptureattempt": reply::datetime(invoice.last_capture_attempt),
        "subtotal": total,
        "credit": "0.00",
        "tax": "0.00",
        "tax2": "0.00",
        "total": total,
        "balance": money(invoice.balance()),
        "taxrate": "0.00",
        "taxrate2": "0.00",
        "status": invoice.status,
        "paymentmethod": invoice.paymentmethod,
        "notes": invoice.notes,
        "ccgateway": false,
        "items": { "item": items },
        // No payments: an empty string, not an empty list.
        "transactions": if transactions.is_empty() { json!("") } else { json!({ "transaction": transactions }) },
    }))
}

/// `"1234.5"` → 123450 hundredths; `None` for anything else.
fn parse_amount(text: &str) -> Option<i64> {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 2 || units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}");
    Some(units.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

/// CreateInvoice: `userid`, `status` (Unpaid by default, or Draft), `paymentmethod`, `notes`, `duedate`,
/// and the lines `itemdescriptionX` / `itemamountX` / `itemtaxedX` (X = 1, 2, …).
/// Answers `{"result":"success","invoiceid":N,"status":"Unpaid"}`.
pub fn create_invoice(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let userid = params
        .id("userid")
        .filter(|id| store.client(*id).is_some())
        .ok_or_else(|| error("Client ID Not Found"))?;
    let status = if params.flag("draft") {
        "Draft".to_owned()
    } else {
        params.get("status").unwrap_or("Unpaid").to_owned()
    };
    let mut lines = Vec::new();
    for n in 1..=100 {
        let Some(description) = params.get(&format!("itemdescription{n}")) else {
            continue;
        };
        let amount = params
            .get(&format!("itemamount{n}"))
            .and_then(parse_amount)
            .ok_or_else(|| error("Invalid item amount"))?;
        lines.push((description.to_owned(), amount));
    }
    let duedate = match params.get("duedate") {
        None => context.today,
        Some(date) => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| error("Invalid Due Date"))?,
    };
    let id = store.next_invoice_id();
    let items = lines
        .into_iter()
        .map(|(description, amount)| InvoiceItem {
            id: store.new_item_id(),
            kind: "",
            relid: 0,
            description,
            amount,
        })
        .collect();
    store.invoices.push(Invoice {
        id,
        userid,
        date: context.today,
        duedate,
        datepaid: None,
        last_capture_attempt: None,
        status: status.clone(),
        paymentmethod: params.get("paymentmethod").unwrap_or(GATEWAY).to_owned(),
        items,
        transactions: Vec::new(),
        notes: params.get("notes").unwrap_or_default().to_owned(),
    });
    success(json!({ "invoiceid": id, "status": status }))
}

/// UpdateInvoice: `invoiceid` and, of its optional fields, `status`, `paymentmethod` (a gateway) and
/// `notes`. Answers `{"result":"success","invoiceid":N}`.
pub fn update_invoice(params: &Params, store: &mut Store) -> Answer {
    let status = match params.get("status") {
        None => None,
        Some(status) => Some(
            [
                "Unpaid",
                "Paid",
                "Cancelled",
                "Refunded",
                "Collections",
                "Draft",
                "Payment Pending",
            ]
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(status))
            .ok_or_else(|| error("Invalid Invoice Status"))?,
        ),
    };
    let invoice = params
        .id("invoiceid")
        .and_then(|id| store.invoices.iter_mut().find(|invoice| invoice.id == id))
        .ok_or_else(|| error("Invoice ID Not Found"))?;
    if let Some(status) = status {
        invoice.status = status.into();
    }
    if let Some(method) = params.get("paymentmethod") {
        invoice.paymentmethod = method.into();
    }
    if let Some(notes) = params.get("notes") {
        invoice.notes = notes.into();
    }
    success(json!({ "invoiceid": invoice.id }))
}

pub fn get_pay_methods(params: &Params, store: &Store) -> Answer {
    let client_id = params
        .id("clientid")
        .filter(|id| store.client(*id).is_some())
        .ok_or_else(|| error("Client ID Not Found"))?;
    let kind = params.get("type");
    let wanted_id = params.id("paymethodid");
    let methods: Vec<Value> = store
        .pay_methods
        .iter()
        .filter(|method| method.client_id == client_id)
        .filter(|method| wanted_id.is_none_or(|id| method.id == id))
        .filter(|method| kind.is_none_or(|kind| method.kind.ends_with(kind)))
        .map(|method| {
            json!({
                "id": method.id,
                "type": method.kind,
                "description": "",
                "gateway_name": "stripe",
                "contact_type": "Client",
                "contact_id": client_id,
                "card_last_four": method.last_four,
                "expiry_date": method.expiry,
                "start_date": "",
                "issue_number": "",
                "card_type": method.card_type,
                "remote_token": method.remote_token,
                "last_updated": method.last_updated.format("%d/%m/%Y %H:%M").to_string(),
            })
        })
        .collect();
    success(json!({ "clientid": client_id.to_string(), "paymethods": methods }))
}

/// AddPayMethod: `clientid`, `type` (CreditCard, BankAccount, RemoteCreditCard, RemoteBankAccount),
/// `description`, `card_number`, `card_expiry` (MMYY), `bank_name`, `gateway_module_name`, `set_as_default`.
/// Answers `{"result":"success","clientid":1,"paymethodid":2}`.
pub fn add_pay_method(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let client_id = params
        .id("clientid")
        .filter(|id| store.client(*id).is_some())
        .ok_or_else(|| error("Client ID Not Found"))?;
    let kind = match params.get("type").unwrap_or("CreditCard") {
        "CreditCard" => "CreditCard",
        "RemoteCreditCard" => "RemoteCreditCard",
        "BankAccount" => "BankAccount",
        "RemoteBankAccount" => "RemoteBankAccount",
        _ => return Err(error("Invalid Pay Method Type")),
    };
    let card = kind.ends_with("CreditCard");
    let number: String = params
        .get("card_number")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if card && number.len() < 12 {
        return Err(error("Invalid Card Number"));
    }
    let expiry = params.get("card_expiry").unwrap_or_default();
    if card && (expiry.len() != 4 || !expiry.bytes().all(|b| b.is_ascii_digit())) {
        return Err(error("Expiry Date is invalid"));
    }
    let id = store.pay_methods.iter().map(|m| m.id).max().unwrap_or(0) + 1;
    let method = PayMethod {
        id,
        client_id,
        kind,
        card_type: if card {
            card_brand(&number).into()
        } else {
            String::new()
        },
        last_four: number
            .chars()
            .skip(number.len().saturating_sub(4))
            .collect(),
        expiry: if card {
            format!("{}/{}", &expiry[..2], &expiry[2..])
        } else {
            String::new()
        },
        remote_token: format!("cus_sandbox{client_id:04}|pm_sandbox{id:04}"),
        last_updated: context.now,
    };
    if params.flag("set_as_default") {
        store.pay_methods.insert(0, method);
    } else {
        store.pay_methods.push(method);
    }
    success(json!({ "clientid": client_id, "paymethodid": id }))
}

fn card_brand(number: &str) -> &'static str {
    match number.as_bytes().first() {
        Some(b'4') => "Visa",
        Some(b'5') => "MasterCard",
        Some(b'3') => "American Express",
        _ => "Card",
    }
}

/// Charges the client's default pay method (their first); fails when that is not a card.
pub fn capture_payment(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let index = params
        .id("invoiceid")
        .and_then(|id| {
            store
                .invoices
                .iter()
                .position(|invoice| invoice.id == id && invoice.status == "Unpaid")
        })
        .ok_or_else(|| error("Invoice Not Found or Not Unpaid"))?;
    let Some(invoice) = store.invoices.get(index) else {
        return Err(error("Invoice Not Found or Not Unpaid"));
    };
    let (invoice_id, client_id, balance) = (invoice.id, invoice.userid, invoice.balance());
    let default_method = store
        .pay_methods
        .iter()
        .find(|method| method.client_id == client_id);
    let Some(default_card) = default_method.filter(|method| method.kind.ends_with("CreditCard"))
    else {
        if let Some(invoice) = store.invoices.get_mut(index) {
            invoice.last_capture_attempt = Some(context.now);
        }
        return Err(error("Payment Attempt Failed"));
    };
    let pay_method_id = default_card.id;
    let mut transaction = store.new_transaction(invoice_id, context.now, balance);
    transaction.pay_method_id = Some(pay_method_id);
    if let Some(invoice) = store.invoices.get_mut(index) {
        invoice.last_capture_attempt = Some(context.now);
        invoice.transactions.push(transaction);
        invoice.status = "Paid".into();
        invoice.datepaid = Some(context.now);
    }
    success(json!({}))
}
