//! Every rule of an event, each failure a field error pointing into the batch.

use serde_json::{Value, json};

use super::{ingest, statuses};
use crate::helpers::{marketer_token, spawn_app};

fn event(id: &str, kind: &str, properties: Value) -> Value {
    json!({"id": id, "type": kind, "occurred_at": "2026-11-01T10:00:00Z",
           "identifiers": [{"kind": "email", "value": "jane@example.com"}], "properties": properties})
}

/// (type, valid properties, invalid properties, the fields the invalid ones must name).
fn cases() -> Vec<(&'static str, Value, Value, Vec<&'static str>)> {
    vec![
        (
            "purchase",
            json!({"order_id": "A-1", "amount": "129.90", "currency": "EUR", "store": "paris-1",
                   "items": [{"sku": "BAG-1", "quantity": 2, "price": 64.95}]}),
            json!({"amount": "12.34567", "currency": "EURO", "store": "",
                   "items": [{"sku": "", "quantity": 0, "price": "-1", "colour": "red"}], "extra": 1}),
            vec![
                "order_id",
                "amount",
                "currency",
                "store",
                "items/0/sku",
                "items/0/quantity",
                "items/0/price",
                "items/0/colour",
                "extra",
            ],
        ),
        (
            "booking",
            json!({"booking_id": "B-1", "starts_at": "2026-12-01T15:00:00+01:00", "store": "paris-1",
                   "service": "Fitting", "status": "booked"}),
            json!({"booking_id": 7, "starts_at": "tomorrow", "status": "maybe"}),
            vec!["booking_id", "starts_at", "status"],
        ),
        (
            "event_attended",
            json!({"event_id": "EV-1", "name": "Private view"}),
            json!({"name": "x".repeat(201)}),
            vec!["event_id", "name"],
        ),
        (
            "email_opened",
            json!({"campaign_id": "C-1", "message_id": "M-1"}),
            json!({"campaign_id": "c\u{0}1"}),
            vec!["campaign_id"],
        ),
        (
            "email_clicked",
            json!({"campaign_id": "C-1", "url": "https://maison.example/x?y=1"}),
            json!({"campaign_id": "C-1", "url": "javascript:alert(1)"}),
            vec!["url"],
        ),
        (
            "page_view",
            json!({"url": "http://maison.example/", "title": "Home", "referrer": "https://search.example/"}),
            json!({"url": "/relative", "referrer": "ftp://x"}),
            vec!["url", "referrer"],
        ),
        (
            "support_case_opened",
            json!({"case_id": "500xx", "subject": "Strap", "channel": "store"}),
            json!({"case_id": "500xx", "channel": "fax"}),
            vec!["channel"],
        ),
        (
            "order_provisioned",
            json!({"order_id": "0193-uuid", "service_ids": [1, 2]}),
            json!({"order_id": "O-1", "service_ids": [0, -1]}),
            vec!["service_ids"],
        ),
        (
            "invoice_paid",
            json!({"invoice_id": 1002, "amount": "2980", "currency": "JPY"}),
            json!({"invoice_id": "abc", "amount": "1,5"}),
            vec!["invoice_id", "amount"],
        ),
    ]
}

#[tokio::test]
async fn every_known_type_checks_its_properties() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut batch = Vec::new();
    for (kind, good, bad, _) in cases() {
        batch.push(event(&format!("{kind}-good"), kind, good));
        batch.push(event(&format!("{kind}-bad"), kind, bad));
    }
    let answer = ingest(&app, &token, "maison", &json!(batch)).await;
    for (position, (kind, _, _, fields)) in cases().into_iter().enumerate() {
        let good = &answer["results"][position * 2];
        assert_eq!(good["status"], "accepted", "{kind}: {good}");
        let bad = &answer["results"][position * 2 + 1];
        assert_eq!(bad["status"], "rejected", "{kind}");
        let index = position * 2 + 1;
        let mut named: Vec<String> = bad["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap().to_owned())
            .collect();
        named.sort();
        let mut expected: Vec<String> = fields
            .iter()
            .map(|field| format!("/{index}/properties/{field}"))
            .collect();
        expected.sort();
        assert_eq!(named, expected, "{kind}: {bad}");
    }
}

#[tokio::test]
async fn the_envelope_is_checked_and_every_error_points_at_its_event() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let ok = event("ok", "page_view", json!({"url": "https://maison.example/"}));
    let with = |change: &dyn Fn(&mut Value)| {
        let mut event = ok.clone();
        change(&mut event);
        event
    };
    let tomorrow_and_more = (chrono::Utc::now() + chrono::Duration::hours(26)).to_rfc3339();
    let batch = json!([
        with(&|e| e["id"] = json!("")),
        with(&|e| e["id"] = json!("x".repeat(129))),
        with(&|e| e["type"] = json!("Page View")),
        with(&|e| e["occurred_at"] = json!(tomorrow_and_more)),
        with(&|e| e["occurred_at"] = json!("1999-12-31T23:59:59Z")),
        with(&|e| e["occurred_at"] = json!("yesterday")),
        with(&|e| e["identifiers"] = json!([])),
        with(&|e| e["identifiers"] = json!([{"kind": "Email", "value": "a@b.example"}])),
        with(&|e| e["identifiers"] = json!([{"kind": "email", "value": "not-an-email"}])),
        with(&|e| e["traits"] = json!({"shoe_size": 42})),
        with(&|e| e["traits"] = json!({"email": "nope", "phone": "0612"})),
        with(&|e| e["properties"] = json!([1, 2])),
        with(&|e| e["colour"] = json!("red")),
        json!("not an object"),
        with(&|e| e["id"] = json!("fine")),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    let expected: [&[&str]; 14] = [
        &["/0/id"],
        &["/1/id"],
        &["/2/type"],
        &["/3/occurred_at"],
        &["/4/occurred_at"],
        &["/5/occurred_at"],
        &["/6/identifiers"],
        &["/7/identifiers/0/kind"],
        &["/8/identifiers/0/value"],
        &["/9/traits"],
        &["/10/traits/email", "/10/traits/phone"],
        &["/11/properties"],
        &["/12/colour"],
        &["/13"],
    ];
    for (index, fields) in expected.iter().enumerate() {
        let result = &answer["results"][index];
        assert_eq!(result["status"], "rejected", "{index}: {result}");
        let named: Vec<&str> = result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap())
            .collect();
        assert_eq!(&named, fields, "{index}");
    }
    assert_eq!(answer["results"][14]["status"], "accepted");
    assert_eq!(answer["rejected"], 14);
}

#[tokio::test]
async fn a_custom_type_takes_any_object_of_bounded_size() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        event(
            "c-1",
            "store_visit",
            json!({"minutes": 12, "with": ["advisor"], "deep": {"a": {"b": null}}})
        ),
        event("c-2", "store_visit", json!({"blob": "x".repeat(9000)})),
        event("c-3", "store_visit", Value::Null),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&answer), ["accepted", "rejected", "accepted"]);
    assert_eq!(answer["results"][1]["errors"][0]["field"], "/1/properties");
    assert_eq!(answer["results"][1]["errors"][0]["code"], "too_large");
}

/// PostgreSQL's `jsonb` cannot hold `\u0000`: such properties are the sender's mistake, refused as such
/// (`rejected`), not a `failed` event the sender is told to send again forever.
#[tokio::test]
async fn properties_with_a_nul_character_are_rejected_not_failed() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        event("n-1", "store_visit", json!({"note": "a\u{0}b"})),
        event("n-2", "store_visit", json!({"deep": [{"k\u{0}": 1}]})),
        event("n-3", "store_visit", json!({"note": "fine"})),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(
        statuses(&answer),
        ["rejected", "rejected", "accepted"],
        "{answer}"
    );
    assert_eq!(answer["results"][0]["errors"][0]["field"], "/0/properties");
    assert_eq!(answer["failed"], 0);
}
