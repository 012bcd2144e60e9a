//! GetClientsProducts (a client's services), UpdateClientProduct (an operator's change to one) and
//! GetProducts (the catalog).

use serde_json::{Value, json};

use super::Context;
use super::params::Params;
use super::reply::{self, Answer, CURRENCY_CODE, CURRENCY_PREFIX, error, money, nested, success};
use super::store::{GATEWAYS, Product, Service, Store, cycle_key};

pub fn get_clients_products(params: &Params, store: &Store) -> Answer {
    let client_id = match params.get("clientid") {
        Some(_) => Some(
            params
                .id("clientid")
                .filter(|id| store.client(*id).is_some())
                .ok_or_else(|| error("Client ID Not Found"))?,
        ),
        None => None,
    };
    let service_id = params.id("serviceid");
    let pid = params.id("pid");
    let mut services: Vec<&Service> = store
        .services
        .iter()
        .filter(|s| client_id.is_none_or(|id| s.client_id == id))
        .filter(|s| service_id.is_none_or(|id| s.id == id))
        .filter(|s| pid.is_none_or(|id| s.pid == id))
        .collect();
    services.sort_by_key(|s| s.id);
    let (start, size) = params.page();
    let page: Vec<Value> = services
        .iter()
        .skip(start)
        .take(size)
        .map(|service| client_product(service, store))
        .collect();
    success(json!({
        "clientid": params.get("clientid"),
        "serviceid": params.get("serviceid"),
        "pid": params.get("pid"),
        "domain": params.get("domain"),
        "totalresults": services.len().to_string(),
        "startnumber": start,
        "numreturned": page.len(),
        "products": nested("product", page),
    }))
}

fn client_product(service: &Service, store: &Store) -> Value {
    let ordernum = store
        .orders
        .iter()
        .find(|order| order.id == service.order_id)
        .map(|order| order.ordernum.to_string())
        .unwrap_or_default();
    let customfields: Vec<Value> = service
        .custom_fields
        .iter()
        .map(|(id, name, value)| {
            json!({ "id": id.to_string(), "name": name, "translated_name": name, "value": value })
        })
        .collect();
    json!({
        "id": service.id.to_string(),
        "qty": "1",
        "clientid": service.client_id.to_string(),
        "orderid": service.order_id.to_string(),
        "ordernumber": ordernum,
        "pid": service.pid.to_string(),
        "regdate": reply::date(service.reg_date),
        "name": service.name,
        "translated_name": service.name,
        "groupname": service.group_name,
        "translated_groupname": service.group_name,
        "domain": "",
        "dedicatedip": "",
        "serverid": "0",
        "servername": "",
        "suspensionreason": "",
        "firstpaymentamount": money(service.first_payment),
        "recurringamount": money(service.recurring),
        "paymentmethod": GATEWAYS[0].0,
        "paymentmethodname": GATEWAYS[0].1,
        "billingcycle": service.billing_cycle,
        "nextduedate": reply::date(service.next_due_date),
        "status": service.status,
        "username": "",
        "password": "",
        "subscriptionid": "",
        "promoid": "0",
        "overideautosuspend": "0",
        "notes": "",
        "customfields": { "customfield": customfields },
        "configoptions": { "configoption": [] },
    })
}

/// UpdateClientProduct: `serviceid` and, of its many optional fields, `status` (Pending, Active, Suspended,
/// Terminated, Cancelled, Fraud, Completed), `pid`, `nextduedate` (YYYY-MM-DD) and `recurringamount`.
/// Answers `{"result":"success","serviceid":1}`.
pub fn update_client_product(params: &Params, store: &mut Store) -> Answer {
    let service_id = params
        .id("serviceid")
        .filter(|id| store.services.iter().any(|s| s.id == *id))
        .ok_or_else(|| error("Service ID Not Found"))?;
    let status = match params.get("status") {
        None => None,
        Some(status) => Some(
            [
                "Pending",
                "Active",
                "Suspended",
                "Terminated",
                "Cancelled",
                "Fraud",
                "Completed",
            ]
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(status))
            .ok_or_else(|| error("Invalid Status"))?,
        ),
    };
    let product = match params.id("pid") {
        None => None,
        Some(pid) => Some(
            store
                .product(pid)
                .map(|p| (p.pid, p.name.clone(), p.group_name.clone()))
                .ok_or_else(|| error("Invalid Product ID"))?,
        ),
    };
    let next_due = match params.get("nextduedate") {
        None => None,
        Some(date) => Some(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| error("Invalid Date Format"))?,
        ),
    };
    let recurring = params
        .get("recurringamount")
        .and_then(|amount| amount.parse::<f64>().ok())
        .map(|amount| (amount * 100.0).round() as i64);
    let Some(service) = store.services.iter_mut().find(|s| s.id == service_id) else {
        return Err(error("Service ID Not Found"));
    };
    if let Some(status) = status {
        service.status = status.into();
    }
    if let Some((pid, name, group_name)) = product {
        service.pid = pid;
        service.name = name;
        service.group_name = group_name;
    }
    if let Some(next_due) = next_due {
        service.next_due_date = next_due;
    }
    if let Some(recurring) = recurring {
        service.recurring = recurring;
    }
    success(json!({ "serviceid": service_id }))
}

/// UpgradeProduct: `serviceid`, `paymentmethod` (a gateway), `type` (`product` or `configoptions`; only
/// `product` is modelled), `newproductid`, `newproductbillingcycle`, `calconly`. With `calconly` it answers
/// the quote and changes nothing; otherwise the service moves to the new product at once (simplified: real
/// WHMCS applies it when the upgrade invoice is paid) with an upgrade order and, when something is due, an
/// Unpaid invoice for the price difference. "Invalid Service ID", "Invalid Payment Method", "Invalid New
/// Product ID", "Invalid Billing Cycle Requested" and "Unable to upgrade to the same product" are guesses.
pub fn upgrade_product(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let service = params
        .id("serviceid")
        .and_then(|id| store.services.iter().find(|s| s.id == id))
        .ok_or_else(|| error("Invalid Service ID"))?;
    let (service_id, client_id, old_pid, old_price) = (
        service.id,
        service.client_id,
        service.pid,
        service.recurring,
    );
    let gateway = params
        .get("paymentmethod")
        .filter(|method| GATEWAYS.iter().any(|(name, _)| name == method))
        .ok_or_else(|| error("Invalid Payment Method. Valid options include stripe,banktransfer"))?
        .to_owned();
    if params.get("type") != Some("product") {
        return Err(error("Invalid Upgrade Type"));
    }
    let product = params
        .id("newproductid")
        .and_then(|pid| store.product(pid))
        .ok_or_else(|| error("Invalid New Product ID"))?;
    if product.pid == old_pid {
        return Err(error("Unable to upgrade to the same product"));
    }
    let cycle = params
        .get("newproductbillingcycle")
        .unwrap_or(product.cycle);
    let price = product
        .price_for(cycle)
        .ok_or_else(|| error("Invalid Billing Cycle Requested"))?;
    let (pid, name, group_name, cycle_name) = (
        product.pid,
        product.name.clone(),
        product.group_name.clone(),
        product.cycle,
    );
    let due = (price - old_price).max(0);
    if params.flag("calconly") {
        return success(json!({
            "originalvalue": money(old_price),
            "newproductid": pid,
            "newproductname": name,
            "newproductbillingcycle": cycle_name.to_ascii_lowercase(),
            "price": money(due),
            "upgradeinprogress": false,
        }));
    }
    let order_id = store.next_order_id();
    let invoice_id = if due > 0 {
        let id = store.next_invoice_id();
        let item_id = store.new_item_id();
        store.invoices.push(super::store::Invoice {
            id,
            userid: client_id,
            date: context.today,
            duedate: context.today,
            datepaid: None,
            last_capture_attempt: None,
            status: "Unpaid".into(),
            paymentmethod: gateway.clone(),
            items: vec![super::store::InvoiceItem {
                id: item_id,
                kind: "Upgrade",
                relid: service_id,
                description: format!("Upgrade to {name}"),
                amount: due,
            }],
            transactions: Vec::new(),
            notes: String::new(),
        });
        id
    } else {
        0
    };
    store.orders.push(super::store::Order {
        id: order_id,
        ordernum: 5_000_000_000 + order_id,
        client_id,
        date: context.now,
        amount: due,
        paymentmethod: gateway,
        invoice_id: (invoice_id > 0).then_some(invoice_id),
        status: "Active".into(),
        service_ids: vec![service_id],
        notes: format!("Upgrade of service {service_id}"),
    });
    if let Some(service) = store.services.iter_mut().find(|s| s.id == service_id) {
        service.pid = pid;
        service.name = name;
        service.group_name = group_name;
        service.recurring = price;
    }
    success(json!({
        "orderid": order_id,
        "ordernumber": (5_000_000_000 + order_id).to_string(),
        "invoiceid": invoice_id,
    }))
}

pub fn get_products(params: &Params, store: &Store) -> Answer {
    let pids: Option<Vec<u64>> = params.get("pid").map(|list| {
        list.split(',')
            .filter_map(|pid| pid.trim().parse().ok())
            .collect()
    });
    let gid = params.id("gid");
    let products: Vec<Value> = store
        .products
        .iter()
        .filter(|p| pids.as_ref().is_none_or(|pids| pids.contains(&p.pid)))
        .filter(|p| gid.is_none_or(|gid| p.gid == gid))
        .map(product)
        .collect();
    success(json!({
        "totalresults": products.len(),
        "products": nested("product", products),
    }))
}

const CYCLES: [(&str, &str); 6] = [
    ("monthly", "msetupfee"),
    ("quarterly", "qsetupfee"),
    ("semiannually", "ssetupfee"),
    ("annually", "asetupfee"),
    ("biennially", "bsetupfee"),
    ("triennially", "tsetupfee"),
];

fn product(product: &Product) -> Value {
    let mut pricing = json!({ "prefix": CURRENCY_PREFIX, "suffix": "" });
    // WHMCS keeps a one-time price under `monthly`; -1.00 marks a cycle the product does not offer.
    let offered = if product.paytype == "onetime" {
        "monthly".to_owned()
    } else {
        cycle_key(product.cycle)
    };
    for (cycle, setup_fee) in CYCLES {
        let (price, fee) = if cycle == offered {
            (money(product.price), money(0))
        } else {
            (money(-100), money(-100))
        };
        pricing[cycle] = json!(price);
        pricing[setup_fee] = json!(fee);
    }
    json!({
        "pid": product.pid,
        "gid": product.gid,
        "type": "other",
        "name": product.name,
        "description": "",
        "module": "",
        "paytype": product.paytype,
        "allowqty": 1,
        "quantity_available": 0,
        "pricing": { CURRENCY_CODE: pricing },
        "customfields": { "customfield": [] },
        "configoptions": { "configoption": [] },
    })
}
