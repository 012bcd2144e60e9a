//! Shapes the sandbox does not produce, served by wiremock.

use concierge::integrations::ProviderError;
use concierge::integrations::whmcs::{
    ClientRef, NewOrder, OrderItem, WhmcsClient, param, raw, raw::Amount,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client_for, rejection_code, settings_for};

async fn server_answering(response: ResponseTemplate) -> (MockServer, WhmcsClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/includes/api.php"))
        .respond_with(response)
        .mount(&server)
        .await;
    let client = client_for(&settings_for(&server.uri()));
    (server, client)
}

fn json_answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn form_of_last_request(server: &MockServer) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    let last = requests.last().expect("a request");
    serde_urlencoded::from_bytes(&last.body).unwrap()
}

#[tokio::test]
async fn every_call_posts_the_action_credentials_and_json_response_type_as_a_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/includes/api.php"))
        .respond_with(json_answer(json!({ "result": "success", "orderid": "9" })))
        .mount(&server)
        .await;
    let mut settings = settings_for(&server.uri());
    settings.providers.whmcs.access_key = Some(SecretString::from("the-access-key"));
    let client = client_for(&settings);

    client
        .add_order(&NewOrder {
            clientid: 1,
            paymentmethod: "stripe".into(),
            items: vec![
                OrderItem {
                    pid: 185,
                    billingcycle: None,
                    qty: None,
                },
                OrderItem {
                    pid: 242,
                    billingcycle: Some("annually".into()),
                    qty: Some(2),
                },
            ],
            promocode: None,
            noinvoice: false,
            noemail: true,
        })
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let content_type = requests[0].headers.get("content-type").unwrap();
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let form = form_of_last_request(&server).await;
    let value = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(value("action"), Some("AddOrder"));
    assert_eq!(value("responsetype"), Some("json"));
    assert_eq!(value("identifier"), Some("concierge-sandbox"));
    assert_eq!(value("secret"), Some("sandbox-whmcs-secret"));
    assert_eq!(value("accesskey"), Some("the-access-key"));
    assert_eq!(value("pid[0]"), Some("185"));
    assert_eq!(value("pid[1]"), Some("242"));
    assert_eq!(value("billingcycle[0]"), None);
    assert_eq!(value("billingcycle[1]"), Some("annually"));
    assert_eq!(value("qty[1]"), Some("2"));
    assert_eq!(value("noemail"), Some("true"));
    assert_eq!(value("noinvoice"), None, "false flags are left out");
}

#[tokio::test]
async fn a_caller_cannot_override_the_credentials_or_the_action() {
    let (server, client) = server_answering(json_answer(json!({ "result": "success" }))).await;

    let _: Value = client
        .call(
            "GetOrders",
            &[param("action", "DeleteClient"), param("secret", "mine")],
        )
        .await
        .unwrap();

    let form = form_of_last_request(&server).await;
    let actions: Vec<_> = form.iter().filter(|(key, _)| key == "action").collect();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].1, "GetOrders");
    assert!(!form.iter().any(|(_, value)| value == "mine"));
}

#[tokio::test]
async fn the_status_error_shape_is_a_rejection() {
    let (_server, client) = server_answering(json_answer(
        json!({ "status": "error", "message": "Invoice ID Not Found" }),
    ))
    .await;

    let result = client.get_invoice(5).await;

    assert_eq!(rejection_code(result), "invoice_id_not_found");
}

#[tokio::test]
async fn an_invalid_ip_with_http_403_is_an_auth_error_and_is_not_retried() {
    let (server, client) = server_answering(
        ResponseTemplate::new(403)
            .set_body_json(json!({ "result": "error", "message": "Invalid IP 203.0.113.7" })),
    )
    .await;

    let result = client.get_invoice(5).await;

    match result {
        Err(ProviderError::Auth { message, .. }) => assert!(message.starts_with("Invalid IP")),
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_invalid_ip_with_http_200_is_an_auth_error_too() {
    let (_server, client) = server_answering(json_answer(
        json!({ "result": "error", "message": "Invalid IP 203.0.113.7" }),
    ))
    .await;

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::Auth { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_html_403_page_is_an_auth_error() {
    let (_server, client) = server_answering(
        ResponseTemplate::new(403).set_body_raw("<html>Forbidden</html>", "text/html"),
    )
    .await;

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::Auth { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_html_page_with_http_200_is_malformed() {
    let (_server, client) = server_answering(
        ResponseTemplate::new(200).set_body_raw("<html><body>Oops</body></html>", "text/html"),
    )
    .await;

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::Malformed { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_without_a_result_is_malformed() {
    let (_server, client) = server_answering(json_answer(json!({ "clientid": "1" }))).await;

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::Malformed { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_success_of_the_wrong_shape_is_malformed() {
    let (_server, client) = server_answering(json_answer(
        json!({ "result": "success", "invoiceid": "not-a-number", "userid": "1" }),
    ))
    .await;

    let result = client.get_invoice(1).await;

    assert!(
        matches!(result, Err(ProviderError::Malformed { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_persistent_server_error_is_retried_then_unavailable() {
    let (server, client) = server_answering(
        ResponseTemplate::new(503).set_body_raw("<h1>Service Unavailable</h1>", "text/html"),
    )
    .await;
    let retries = settings_for(&server.uri()).providers.max_retries;

    let result = client.get_clients_details(ClientRef::Id(1), false).await;

    assert!(
        matches!(result, Err(ProviderError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + retries);
}

#[tokio::test]
async fn rate_limiting_is_transient() {
    let (server, client) = server_answering(ResponseTemplate::new(429)).await;

    let result = client.get_pay_methods(1).await;

    assert!(
        matches!(result, Err(ProviderError::RateLimited { .. })),
        "{result:?}"
    );
    assert!(server.received_requests().await.unwrap().len() > 1);
}

/// One GetInvoices page of one invoice, with the id and total as given (string or number).
fn invoice_list(id: Value, total: Value) -> Value {
    json!({
        "result": "success", "totalresults": "1", "startnumber": 0, "numreturned": 1,
        "invoices": { "invoice": [{
            "id": id, "userid": 1, "invoicenum": "", "date": "2026-01-01", "duedate": "2026-01-08",
            "datepaid": "0000-00-00 00:00:00", "subtotal": total.clone(), "credit": 0, "tax": "0.00",
            "total": total, "status": "Unpaid", "paymentmethod": "stripe", "currencycode": "JPY",
            "currencyprefix": "¥", "currencysuffix": ""
        }] },
    })
}

#[tokio::test]
async fn numbers_are_read_alike_whether_sent_as_strings_or_as_numbers() {
    let (_strings, as_strings) =
        server_answering(json_answer(invoice_list(json!("7"), json!("15.95")))).await;
    let (_numbers, as_numbers) =
        server_answering(json_answer(invoice_list(json!(7), json!(15.95)))).await;

    let from_strings = as_strings.get_invoices(&Default::default()).await.unwrap();
    let from_numbers = as_numbers.get_invoices(&Default::default()).await.unwrap();

    for list in [&from_strings, &from_numbers] {
        assert_eq!(list.totalresults, 1);
        let invoice = &list.invoices[0];
        assert_eq!(invoice.id, 7);
        assert_eq!(invoice.total, Amount::from_hundredths(1595));
        assert_eq!(invoice.credit, Amount::ZERO);
        assert!(invoice.datepaid.is_none(), "the zero date is no date");
    }
}

#[tokio::test]
async fn an_empty_invoice_list_may_come_as_an_empty_string_or_be_missing() {
    for empty in [json!(""), json!([]), json!({ "invoice": [] })] {
        let (_server, client) = server_answering(json_answer(json!({
            "result": "success", "totalresults": 0, "startnumber": 0, "numreturned": 0,
            "invoices": empty,
        })))
        .await;

        let list = client.get_invoices(&Default::default()).await.unwrap();

        assert!(list.invoices.is_empty(), "{empty}");
    }
    let (_server, client) = server_answering(json_answer(
        json!({ "result": "success", "totalresults": 0 }),
    ))
    .await;
    let list = client.get_invoices(&Default::default()).await.unwrap();
    assert!(list.invoices.is_empty());
}

#[tokio::test]
async fn a_single_record_in_place_of_a_list_is_a_list_of_one() {
    let body = json!({
        "result": "success", "totalresults": 1,
        "orders": { "order": {
            "id": 3, "ordernum": 7858259149u64, "userid": 1, "date": "2026-09-23 13:59:35",
            "amount": "8.00", "invoiceid": 0, "status": "Active", "paymentstatus": null,
            "lineitems": { "lineitem": { "type": "product", "relid": 1, "product": "SIM",
                "billingcycle": "Monthly", "amount": "8.00", "status": "Active" } }
        } }
    });
    let (_server, client) = server_answering(json_answer(body)).await;

    let orders = client.get_orders(&Default::default()).await.unwrap();

    assert_eq!(orders.orders.len(), 1);
    let order: &raw::Order = &orders.orders[0];
    assert_eq!(order.ordernum, "7858259149");
    assert_eq!(order.invoiceid, None, "invoice 0 is no invoice");
    assert_eq!(order.paymentstatus, "");
    assert_eq!(order.lineitems.len(), 1);
    assert_eq!(order.lineitems[0].relid, Some(1));
}

#[tokio::test]
async fn add_order_ids_are_read_from_comma_separated_strings() {
    let (_server, client) = server_answering(json_answer(json!({
        "result": "success", "orderid": "12", "serviceids": "31,32", "addonids": "",
        "domainids": "", "invoiceid": "44"
    })))
    .await;

    let added = client
        .add_order(&NewOrder {
            clientid: 1,
            paymentmethod: "stripe".into(),
            items: vec![OrderItem {
                pid: 1,
                billingcycle: None,
                qty: Some(2),
            }],
            promocode: None,
            noinvoice: false,
            noemail: false,
        })
        .await
        .unwrap();

    assert_eq!(added.orderid, 12);
    assert_eq!(added.serviceids, [31, 32]);
    assert!(added.addonids.is_empty());
    assert_eq!(added.invoiceid, Some(44));
}

#[tokio::test]
async fn pricing_sent_as_an_empty_array_is_no_pricing() {
    let (_server, client) = server_answering(json_answer(json!({
        "result": "success", "totalresults": 1,
        "products": { "product": [{ "pid": "5", "gid": "1", "name": "Free thing", "paytype": "free", "pricing": [] }] }
    })))
    .await;

    let products = client.get_products(&Default::default()).await.unwrap();

    assert!(products.products[0].pricing.is_empty());
    assert_eq!(products.products[0].pid, 5);
}

#[tokio::test]
async fn client_details_tolerate_nulls_numbers_and_the_older_id_fields() {
    let (_server, client) = server_answering(json_answer(json!({
        "result": "success", "userid": "8", "firstname": "Aiko", "companyname": null,
        "postcode": 1500001, "language": null, "currency": "1", "currency_code": "JPY",
        "credit": "1,000.00", "client": { "users": "" },
        "stats": { "numdueinvoices": "2", "dueinvoicesbalance": "¥1,960.00 JPY" }
    })))
    .await;

    let details = client
        .get_clients_details(ClientRef::Id(8), true)
        .await
        .unwrap();

    assert_eq!(details.client_id(), Some(8));
    assert_eq!(details.companyname, "");
    assert_eq!(details.postcode, "1500001");
    assert_eq!(details.credit, Amount::from_units(1000));
    assert!(details.users().is_empty());
    let stats = details.stats.unwrap();
    assert_eq!(stats.numdueinvoices, 2);
    assert_eq!(stats.dueinvoicesbalance, Amount::from_units(1960));
}
