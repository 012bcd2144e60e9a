//! GetClientsProducts, GetProducts, AddOrder, AcceptOrder, GetOrders.

use concierge::integrations::whmcs::{
    ClientProductsQuery, NewOrder, OrderItem, OrdersQuery, ProductsQuery, param, raw::Amount,
};
use serde_json::Value;

use super::{rejection_code, sandbox_with_client};

#[tokio::test]
async fn client_products_list_the_services_with_product_names_and_sim_fields() {
    let (_sandbox, client) = sandbox_with_client().await;

    let services = client
        .get_clients_products(&ClientProductsQuery {
            clientid: Some(1),
            ..ClientProductsQuery::default()
        })
        .await
        .unwrap();

    assert_eq!(services.totalresults, 2);
    let ids: Vec<u64> = services.products.iter().map(|s| s.id).collect();
    assert_eq!(ids, [501, 502]);
    let sim = &services.products[0];
    assert_eq!(sim.pid, 103);
    assert_eq!(sim.name, "SIM Data 20GB");
    assert_eq!(sim.groupname, "SIM");
    assert_eq!(sim.orderid, Some(701));
    assert_eq!(sim.status, "Active");
    assert_eq!(sim.billingcycle, "Monthly");
    assert_eq!(sim.recurringamount, Amount::from_units(2980));
    assert_eq!(sim.custom_field("MSISDN"), Some("08012345678"));
    assert_eq!(sim.custom_field("EID"), None);
    assert!(services.products[1].customfields.is_empty());
}

#[tokio::test]
async fn client_products_total_is_a_string_on_the_wire() {
    let (_sandbox, client) = sandbox_with_client().await;

    let wire: Value = client
        .call("GetClientsProducts", &[param("clientid", 3)])
        .await
        .unwrap();

    assert_eq!(wire["totalresults"], "1");
    assert_eq!(wire["products"]["product"][0]["id"], "504");
}

#[tokio::test]
async fn products_carry_jpy_pricing_with_disabled_cycles_at_minus_one() {
    let (_sandbox, client) = sandbox_with_client().await;

    let products = client
        .get_products(&ProductsQuery {
            pids: vec![103, 402, 304],
            gid: None,
        })
        .await
        .unwrap();
    let wire: Value = client
        .call("GetProducts", &[param("pid", 103)])
        .await
        .unwrap();

    assert_eq!(products.totalresults, 3);
    let by_pid = |pid| products.products.iter().find(|p| p.pid == pid).unwrap();
    let sim = &by_pid(103).pricing["JPY"];
    assert_eq!(sim.prefix, "¥");
    assert_eq!(sim.price("Monthly"), Some(Amount::from_units(2980)));
    assert_eq!(sim.price("annually"), None);
    let support = &by_pid(402).pricing["JPY"];
    assert_eq!(support.price("annually"), Some(Amount::from_units(12000)));
    assert_eq!(support.price("monthly"), None);
    let roaming = by_pid(304);
    assert_eq!(roaming.paytype, "onetime");
    assert_eq!(
        roaming.pricing["JPY"].price("onetime"),
        Some(Amount::from_units(2500))
    );
    assert_eq!(
        wire["products"]["product"][0]["pricing"]["JPY"]["annually"],
        "-1.00"
    );
    assert_eq!(wire["products"]["product"][0]["pid"], 103);
}

#[tokio::test]
async fn products_filter_by_group() {
    let (_sandbox, client) = sandbox_with_client().await;

    let all = client
        .get_products(&ProductsQuery::default())
        .await
        .unwrap();
    let sims = client
        .get_products(&ProductsQuery {
            pids: Vec::new(),
            gid: Some(1),
        })
        .await
        .unwrap();

    assert_eq!(all.products.len(), concierge_sandbox::demo::PRODUCTS.len());
    assert!(!sims.products.is_empty());
    assert!(sims.products.iter().all(|p| p.gid == 1));
}

#[tokio::test]
async fn an_order_is_pending_until_accepted_then_active_with_its_services() {
    let (sandbox, client) = sandbox_with_client().await;

    let added = client
        .add_order(&NewOrder {
            clientid: 2,
            paymentmethod: "stripe".into(),
            items: vec![
                OrderItem {
                    pid: 103,
                    billingcycle: Some("monthly".into()),
                    qty: None,
                },
                OrderItem {
                    pid: 301,
                    billingcycle: None,
                    qty: Some(2),
                },
            ],
            promocode: None,
            noinvoice: false,
            noemail: true,
        })
        .await
        .unwrap();
    let by_id = OrdersQuery {
        id: Some(added.orderid),
        ..OrdersQuery::default()
    };
    let pending = client.get_orders(&by_id).await.unwrap();
    let pending_services = client
        .get_clients_products(&ClientProductsQuery {
            clientid: Some(2),
            ..ClientProductsQuery::default()
        })
        .await
        .unwrap();
    client
        .accept_order(added.orderid, false, false)
        .await
        .unwrap();
    let active = client.get_orders(&by_id).await.unwrap();
    let again = client.accept_order(added.orderid, false, false).await;

    assert_eq!(
        added.serviceids.len(),
        3,
        "one service per quantity per pid"
    );
    let invoice_id = added.invoiceid.expect("an invoice unless noinvoice");
    assert_eq!(pending.orders[0].status, "Pending");
    assert_eq!(pending.orders[0].paymentstatus, "Unpaid");
    assert_eq!(pending.orders[0].amount, Amount::from_units(2980 + 2 * 490));
    assert!(
        pending_services
            .products
            .iter()
            .filter(|s| added.serviceids.contains(&s.id))
            .all(|s| s.status == "Pending")
    );
    let order = &active.orders[0];
    assert_eq!(order.status, "Active");
    assert_eq!(order.invoiceid, Some(invoice_id));
    assert_eq!(order.lineitems.len(), 3);
    assert!(order.lineitems.iter().all(|line| line.status == "Active"));
    assert_eq!(
        rejection_code(again),
        "order_id_not_found_or_status_not_pending"
    );
    let invoice = client.get_invoice(invoice_id).await.unwrap();
    assert_eq!(invoice.status, "Unpaid");
    assert_eq!(invoice.total, Amount::from_units(2980 + 2 * 490));
    let dumped = sandbox
        .whmcs_orders()
        .await
        .into_iter()
        .find(|o| o["id"] == added.orderid)
        .expect("the order in the dump");
    assert_eq!(dumped["status"], "Active");
    assert_eq!(sandbox.whmcs_calls("AddOrder"), 1);
}

#[tokio::test]
async fn add_order_answers_service_ids_as_a_comma_separated_string() {
    let (_sandbox, client) = sandbox_with_client().await;
    let mut params = vec![
        param("clientid", 1),
        param("paymentmethod", "stripe"),
        param("noinvoice", true),
    ];
    params.extend(concierge::integrations::whmcs::indexed("pid", &[101, 102]));

    let wire: Value = client.call_once("AddOrder", &params).await.unwrap();

    assert_eq!(wire["serviceids"], "505,506");
    assert_eq!(wire["invoiceid"], "0", "no invoice with noinvoice");
    assert!(wire["orderid"].is_string());
}

#[tokio::test]
async fn add_order_for_an_unknown_product_or_client_is_rejected() {
    let (_sandbox, client) = sandbox_with_client().await;
    let order = |clientid, pid| NewOrder {
        clientid,
        paymentmethod: "stripe".into(),
        items: vec![OrderItem {
            pid,
            billingcycle: None,
            qty: None,
        }],
        promocode: None,
        noinvoice: false,
        noemail: false,
    };

    let unknown_product = client.add_order(&order(1, 999)).await;
    let unknown_client = client.add_order(&order(99, 101)).await;

    assert_eq!(rejection_code(unknown_product), "invalid_product_id");
    assert_eq!(rejection_code(unknown_client), "client_id_not_found");
}

#[tokio::test]
async fn orders_list_newest_first_and_filter_by_client() {
    let (_sandbox, client) = sandbox_with_client().await;

    let all = client.get_orders(&OrdersQuery::default()).await.unwrap();
    let of_client_one = client
        .get_orders(&OrdersQuery {
            userid: Some(1),
            ..OrdersQuery::default()
        })
        .await
        .unwrap();

    let ids: Vec<u64> = all.orders.iter().map(|o| o.id).collect();
    assert_eq!(ids, [703, 702, 701]);
    assert_eq!(of_client_one.totalresults, 1);
    assert_eq!(of_client_one.orders[0].lineitems.len(), 2);
    assert_eq!(of_client_one.orders[0].invoiceid, None);
}

#[tokio::test]
async fn add_order_reads_pid_arrays_written_without_indexes() {
    let (_sandbox, client) = sandbox_with_client().await;
    let params = [
        param("clientid", 3),
        param("paymentmethod", "banktransfer"),
        param("pid[]", 201),
        param("pid[]", 302),
        param("billingcycle[]", "monthly"),
        param("billingcycle[]", "monthly"),
    ];

    let added: concierge::integrations::whmcs::raw::AddedOrder =
        client.call_once("AddOrder", &params).await.unwrap();

    assert_eq!(added.serviceids.len(), 2);
}

#[tokio::test]
async fn add_order_with_a_cycle_the_product_does_not_offer_is_rejected() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client
        .add_order(&NewOrder {
            clientid: 1,
            paymentmethod: "stripe".into(),
            items: vec![OrderItem {
                pid: 103,
                billingcycle: Some("triennially".into()),
                qty: None,
            }],
            promocode: None,
            noinvoice: false,
            noemail: false,
        })
        .await;

    assert_eq!(rejection_code(result), "invalid_billing_cycle");
}
