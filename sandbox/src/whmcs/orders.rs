//! AddOrder, AcceptOrder, GetOrders.

use serde_json::{Value, json};

use super::Context;
use super::params::Params;
use super::reply::{self, Answer, CURRENCY_PREFIX, error, money, nested, success};
use super::store::{GATEWAYS, Invoice, InvoiceItem, Order, Service, Store};

const NOT_PENDING: &str = "Order ID not found or Status not Pending";

/// One requested line, checked against the catalog.
struct Line {
    pid: u64,
    name: String,
    group_name: String,
    cycle: &'static str,
    price: i64,
    qty: usize,
}

pub fn add_order(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let client_id = params
        .id("clientid")
        .filter(|id| store.client(*id).is_some())
        .ok_or_else(|| error("Client ID Not Found"))?;
    let gateway = params
        .get("paymentmethod")
        .filter(|method| GATEWAYS.iter().any(|(name, _)| name == method))
        .ok_or_else(|| {
            let names: Vec<&str> = GATEWAYS.iter().map(|(name, _)| *name).collect();
            error(&format!(
                "Invalid Payment Method. Valid options include {}",
                names.join(",")
            ))
        })?
        .to_owned();
    let lines = requested_lines(params, store)?;
    if lines.is_empty() {
        return Err(error("No items added to cart so order cannot proceed"));
    }

    let order_id = store.next_order_id();
    let mut services = Vec::new();
    let mut next_service_id = store.next_service_id();
    for line in &lines {
        for _ in 0..line.qty {
            services.push(Service {
                id: next_service_id,
                client_id,
                order_id,
                pid: line.pid,
                name: line.name.clone(),
                group_name: line.group_name.clone(),
                reg_date: context.today,
                next_due_date: context.today,
                billing_cycle: line.cycle.into(),
                first_payment: line.price,
                recurring: if line.cycle == "One Time" {
                    0
                } else {
                    line.price
                },
                status: "Pending".into(),
                custom_fields: Vec::new(),
            });
            next_service_id += 1;
        }
    }
    let amount: i64 = services.iter().map(|s| s.first_payment).sum();
    let service_ids: Vec<u64> = services.iter().map(|s| s.id).collect();
    let invoice_id = (!params.flag("noinvoice")).then(|| {
        let id = store.next_invoice_id();
        let items = services
            .iter()
            .map(|service| InvoiceItem {
                id: store.new_item_id(),
                kind: "Hosting",
                relid: service.id,
                description: service.name.clone(),
                amount: service.first_payment,
            })
            .collect();
        store.invoices.push(Invoice {
            id,
            userid: client_id,
            date: context.today,
            duedate: context.today,
            datepaid: None,
            last_capture_attempt: None,
            status: "Unpaid".into(),
            paymentmethod: gateway.clone(),
            items,
            transactions: Vec::new(),
            notes: String::new(),
        });
        id
    });
    store.services.extend(services);
    store.orders.push(Order {
        id: order_id,
        ordernum: rand::random_range(1_000_000_000..10_000_000_000),
        client_id,
        date: context.now,
        amount,
        paymentmethod: gateway,
        invoice_id,
        status: "Pending".into(),
        service_ids: service_ids.clone(),
        notes: params.get("notes").unwrap_or_default().to_owned(),
    });
    let ids: Vec<String> = service_ids.iter().map(u64::to_string).collect();
    success(json!({
        "orderid": order_id.to_string(),
        "serviceids": ids.join(","),
        "addonids": "",
        "domainids": "",
        "invoiceid": invoice_id.unwrap_or(0).to_string(),
    }))
}

/// `pid[n]` with its `billingcycle[n]` (default: the product's cycle) and `qty[n]` (default 1, at most 100).
fn requested_lines(params: &Params, store: &Store) -> Result<Vec<Line>, Value> {
    let cycles = params.array("billingcycle");
    let quantities = params.array("qty");
    params
        .array("pid")
        .into_iter()
        .map(|(index, pid)| {
            let product = pid
                .parse::<u64>()
                .ok()
                .and_then(|pid| store.product(pid))
                .ok_or_else(|| error("Invalid Product ID"))?;
            if let Some(cycle) = cycles.get(&index).filter(|c| !c.is_empty()) {
                product
                    .price_for(cycle)
                    .ok_or_else(|| error("Invalid Billing Cycle"))?;
            }
            let qty = quantities
                .get(&index)
                .and_then(|qty| qty.parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, 100);
            Ok(Line {
                pid: product.pid,
                name: product.name.clone(),
                group_name: product.group_name.clone(),
                cycle: product.cycle,
                price: product.price,
                qty,
            })
        })
        .collect()
}

pub fn accept_order(params: &Params, store: &mut Store) -> Answer {
    let order = params
        .id("orderid")
        .and_then(|id| store.orders.iter_mut().find(|order| order.id == id))
        .filter(|order| order.status == "Pending")
        .ok_or_else(|| error(NOT_PENDING))?;
    order.status = "Active".into();
    let service_ids = order.service_ids.clone();
    for service in store
        .services
        .iter_mut()
        .filter(|service| service_ids.contains(&service.id) && service.status == "Pending")
    {
        service.status = "Active".into();
    }
    success(json!({}))
}

pub fn get_orders(params: &Params, store: &Store) -> Answer {
    let id = params.id("id");
    let userid = params
        .get("userid")
        .map(|_| params.id("userid").unwrap_or(0));
    let status = params.get("status");
    let mut orders: Vec<&Order> = store
        .orders
        .iter()
        .filter(|order| id.is_none_or(|id| order.id == id))
        .filter(|order| userid.is_none_or(|userid| order.client_id == userid))
        .filter(|order| status.is_none_or(|status| order.status.eq_ignore_ascii_case(status)))
        .collect();
    orders.sort_by_key(|order| std::cmp::Reverse(order.id));
    let (start, size) = params.page();
    let page: Vec<Value> = orders
        .iter()
        .skip(start)
        .take(size)
        .map(|order| order_json(order, store))
        .collect();
    success(json!({
        "totalresults": orders.len(),
        "startnumber": start,
        "numreturned": page.len(),
        "orders": nested("order", page),
    }))
}

/// An order as GetOrders lists it: ids as numbers here, amounts as strings.
fn order_json(order: &Order, store: &Store) -> Value {
    let client = store.client(order.client_id);
    let payment_status = order.invoice_id.and_then(|invoice_id| {
        store
            .invoices
            .iter()
            .find(|invoice| invoice.id == invoice_id)
            .map(|invoice| invoice.status.clone())
    });
    let lineitems: Vec<Value> = store
        .services
        .iter()
        .filter(|service| order.service_ids.contains(&service.id))
        .map(|service| {
            json!({
                "type": "product",
                "relid": service.id,
                "producttype": "Other",
                "product": service.name,
                "domain": "",
                "billingcycle": service.billing_cycle,
                "amount": money(service.first_payment),
                "status": service.status,
            })
        })
        .collect();
    let gateway_name = GATEWAYS
        .iter()
        .find(|(name, _)| *name == order.paymentmethod)
        .map_or("", |(_, display)| display);
    json!({
        "id": order.id,
        "ordernum": order.ordernum,
        "userid": order.client_id,
        "contactid": 0,
        "requestor_id": order.client_id,
        "admin_requestor_id": 0,
        "date": reply::datetime(Some(order.date)),
        "nameservers": "",
        "transfersecret": "",
        "renewals": "",
        "promocode": "",
        "promotype": "",
        "promovalue": "",
        "orderdata": "[]",
        "amount": money(order.amount),
        "paymentmethod": order.paymentmethod,
        "invoiceid": order.invoice_id.unwrap_or(0),
        "status": order.status,
        "ipaddress": "127.0.0.1",
        "fraudmodule": "",
        "fraudoutput": "",
        "notes": order.notes,
        "paymentmethodname": gateway_name,
        "paymentstatus": payment_status,
        "name": client.map(|c| c.fullname()).unwrap_or_default(),
        "currencyprefix": CURRENCY_PREFIX,
        "currencysuffix": "",
        "lineitems": { "lineitem": lineitems },
    })
}
