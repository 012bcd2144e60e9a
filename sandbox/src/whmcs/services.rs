//! GetClientsProducts (a client's services) and GetProducts (the catalog).

use serde_json::{Value, json};

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
