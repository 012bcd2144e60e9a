//! `GET …/clienteling/dashboard?period=`: every figure on known data (clients, interactions, tasks and
//! appointments made through the API, purchases through the CRM's events, outreach rows as the send path
//! leaves them), an advisor's own against a manager's stores with the per-advisor breakdown, scope and
//! validation.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{Person, client, code, id_of, paris, person, send, tokyo};
use super::tasks::{TASKS, created};
use crate::helpers::{TestApp, customer_token, marketer_token, problem, spawn_app};

const DASHBOARD: &str = "/api/v1/brands/maison/clienteling/dashboard";

async fn dashboard(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let response = send(
        app,
        Method::GET,
        Some(token),
        &format!("{DASHBOARD}{query}"),
        None,
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn new_client(app: &TestApp, advisor: &Person, store: &str, first: &str) -> String {
    let email = format!("{}.dash@example.com", first.to_lowercase());
    id_of(&client(app, &advisor.token, store, first, "Dash", &email).await)
}

async fn interaction(
    app: &TestApp,
    advisor: &Person,
    client: &str,
    channel: &str,
    at: DateTime<Utc>,
) {
    let response = send(
        app,
        Method::POST,
        Some(&advisor.token),
        &format!("/api/v1/brands/maison/clienteling/clients/{client}/interactions"),
        Some(json!({ "channel": channel, "context": "generic", "occurred_at": at })),
    )
    .await;
    assert_eq!(response.status(), 201);
}

async fn task(app: &TestApp, advisor: &Person, client: &str, due: Duration) -> String {
    id_of(
        &created(
            app,
            &advisor.token,
            json!({ "client_id": client, "title": "Follow up", "due_at": Utc::now() + due }),
        )
        .await,
    )
}

async fn appointment(
    app: &TestApp,
    advisor: &Person,
    client: &str,
    store: &str,
    days: i64,
) -> String {
    let starts_at = Utc::now() + Duration::days(days);
    let response = send(
        app,
        Method::POST,
        Some(&advisor.token),
        "/api/v1/brands/maison/clienteling/appointments",
        Some(
            json!({ "client_id": client, "store": store, "kind": "phone",
                     "starts_at": starts_at, "ends_at": starts_at + Duration::minutes(30) }),
        ),
    )
    .await;
    assert_eq!(response.status(), 201);
    id_of(&response.json().await.unwrap())
}

/// The send path's record of an outreach (the path itself is the outreach tests').
async fn outreach(app: &TestApp, advisor: &Person, client: &str, status: &str) {
    sqlx::query(
        "INSERT INTO clienteling_outreach (id, brand_id, profile_id, advisor_id, channel, status)
         SELECT $1, id, $2::uuid, $3, 'whatsapp', $4 FROM brands WHERE slug = 'maison'",
    )
    .bind(Uuid::now_v7())
    .bind(client)
    .bind(advisor.id)
    .bind(status)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn purchases(app: &TestApp, bought: &[(&str, &str, i64, &str)]) {
    let marketer = marketer_token(app, "mkt.dash@maison.example", "maison").await;
    let events: Vec<Value> = bought
        .iter()
        .map(|(order, first, hours_ago, amount)| {
            json!({"id": order, "type": "purchase",
                   "occurred_at": (Utc::now() - Duration::hours(*hours_ago)).to_rfc3339(),
                   "identifiers": [{"kind": "email", "value": format!("{}.dash@example.com", first.to_lowercase())}],
                   "properties": {"order_id": order, "amount": amount, "currency": "EUR"}})
        })
        .collect();
    let response = send(
        app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/events",
        Some(Value::Array(events)),
    )
    .await;
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted"),
        "{answer}"
    );
}

fn counts(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

fn keep_in_touch(page: &Value) -> Vec<String> {
    page["keep_in_touch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["first_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_figures_are_the_advisors_own_or_their_stores_with_a_breakdown() {
    let app = spawn_app().await;
    let anna = paris(&app).await;
    let bruno = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let taro = tokyo(&app).await;
    let manager = person(
        &app,
        "mgr.paris@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let anne = new_client(&app, &anna, "paris-1", "Anne").await;
    let bea = new_client(&app, &anna, "paris-1", "Bea").await;
    let cleo = new_client(&app, &bruno, "paris-1", "Cleo").await;
    let dan = new_client(&app, &taro, "tokyo-1", "Dan").await;
    let now = Utc::now();

    interaction(&app, &anna, &anne, "call", now - Duration::days(2)).await;
    interaction(&app, &anna, &bea, "call", now - Duration::days(40)).await;
    interaction(&app, &bruno, &cleo, "email", now - Duration::days(1)).await;
    interaction(&app, &taro, &dan, "call", now - Duration::days(1)).await;

    let done = task(&app, &anna, &anne, Duration::hours(5)).await;
    let response = send(
        &app,
        Method::POST,
        Some(&anna.token),
        &format!("{TASKS}/{done}/complete"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    task(&app, &anna, &bea, Duration::hours(-1)).await;
    task(&app, &anna, &anne, Duration::days(1)).await;
    task(&app, &bruno, &cleo, Duration::hours(-2)).await;
    task(&app, &taro, &dan, Duration::hours(-2)).await;

    appointment(&app, &anna, &anne, "paris-1", 3).await;
    appointment(&app, &bruno, &cleo, "paris-1", 3).await;
    appointment(&app, &taro, &dan, "tokyo-1", 3).await;
    // Anna's appointment with Bea took place two hours ago; completing it logs a `call` interaction then.
    let past = appointment(&app, &anna, &bea, "paris-1", 4).await;
    sqlx::query(
        "UPDATE clienteling_appointments SET starts_at = now() - interval '2 hours',
                ends_at = now() - interval '90 minutes' WHERE id = $1::uuid",
    )
    .bind(&past)
    .execute(&app.db)
    .await
    .unwrap();
    let response = send(
        &app,
        Method::POST,
        Some(&anna.token),
        &format!("/api/v1/brands/maison/clienteling/appointments/{past}/complete"),
        Some(json!({})),
    )
    .await;
    assert_eq!(response.status(), 200);

    outreach(&app, &anna, &anne, "sent").await;
    outreach(&app, &anna, &anne, "sent").await;
    outreach(&app, &anna, &bea, "suppressed").await;
    outreach(&app, &bruno, &cleo, "sent").await;
    outreach(&app, &taro, &dan, "sent").await;

    // Anne's 500 followed Anna's call; her 100 came before it (no interaction in the 30 days before).
    purchases(
        &app,
        &[
            ("d-1", "Anne", 24, "500.00"),
            ("d-2", "Anne", 24 * 5, "100.00"),
            ("d-3", "Cleo", 2, "300.00"),
            ("d-4", "Dan", 2, "1000.00"),
        ],
    )
    .await;

    // Anna: her own.
    let (status, page) = dashboard(&app, &anna.token, "?period=30d").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["scope"], "advisor");
    assert_eq!(page["period"], "30d");
    assert_eq!(page["currency"], "EUR");
    assert!(page["advisors"].is_null());
    let figures = &page["figures"];
    assert_eq!(figures["clients_in_book"], 2, "{figures}");
    assert_eq!(figures["clients_contacted"], 2, "{figures}");
    assert_eq!(figures["interactions"], 2);
    assert_eq!(
        counts(&figures["interactions_by_channel"]),
        pairs(&[("call", 2)])
    );
    assert_eq!(
        counts(&figures["interactions_by_context"]),
        pairs(&[("appointment", 1), ("generic", 1)])
    );
    assert_eq!(figures["outreach_sent"], 2);
    assert_eq!(figures["outreach_suppressed"], 1);
    assert_eq!(figures["tasks_done"], 1);
    assert_eq!(figures["tasks_overdue"], 1);
    assert_eq!(figures["appointments_upcoming"], 1);
    assert_eq!(figures["appointments_completed"], 1);
    assert_eq!(
        figures["sales"],
        json!({"purchases": 1, "amount": "500.00"})
    );
    assert_eq!(keep_in_touch(&page), ["Anne", "Bea"], "{page}");
    let first = &page["keep_in_touch"][0];
    assert_eq!(first["client_id"], anne.as_str());
    assert_eq!(first["lifetime_spend"], "600.00");
    assert_eq!(first["days_since_last_purchase"], 1);
    assert_eq!(first["days_since_last_contact"], 2);
    assert_eq!(page["keep_in_touch"][1]["lifetime_spend"], "0.00");
    assert_eq!(page["keep_in_touch"][1]["days_since_last_contact"], 0);

    // The 90 days take in Anna's call with Bea 40 days ago.
    let (_, page) = dashboard(&app, &anna.token, "?period=90d").await;
    assert_eq!(page["figures"]["interactions"], 3);
    assert_eq!(page["figures"]["clients_contacted"], 2);

    // Bruno sees his, not Anna's.
    let (_, page) = dashboard(&app, &bruno.token, "").await;
    assert_eq!(page["period"], "30d", "the default");
    assert_eq!(page["figures"]["clients_in_book"], 1);
    assert_eq!(page["figures"]["outreach_sent"], 1);
    assert_eq!(
        page["figures"]["sales"],
        json!({"purchases": 1, "amount": "300.00"})
    );
    assert_eq!(keep_in_touch(&page), ["Cleo"]);

    // The Paris manager: the Paris store, and Anna and Bruno; nothing of Tokyo's.
    let (status, page) = dashboard(&app, &manager.token, "?period=30d").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["scope"], "stores");
    assert_eq!(page["stores"], json!(["paris-1"]));
    let figures = &page["figures"];
    assert_eq!(figures["clients_in_book"], 3, "{figures}");
    assert_eq!(figures["clients_contacted"], 3);
    assert_eq!(figures["interactions"], 3);
    assert_eq!(
        counts(&figures["interactions_by_channel"]),
        pairs(&[("call", 2), ("email", 1)])
    );
    assert_eq!(figures["outreach_sent"], 3);
    assert_eq!(figures["outreach_suppressed"], 1);
    assert_eq!(figures["tasks_done"], 1);
    assert_eq!(figures["tasks_overdue"], 2);
    assert_eq!(figures["appointments_upcoming"], 2);
    assert_eq!(figures["appointments_completed"], 1);
    assert_eq!(
        figures["sales"],
        json!({"purchases": 2, "amount": "800.00"})
    );
    assert_eq!(keep_in_touch(&page), ["Anne", "Cleo", "Bea"], "{page}");
    let advisors = page["advisors"].as_array().unwrap();
    let mut ids: Vec<&str> = advisors
        .iter()
        .map(|a| a["advisor_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![anna.id.to_string(), bruno.id.to_string()];
    expected.sort();
    assert_eq!(ids, expected, "only the Paris advisors: {page}");
    let of = |who: &Person| {
        advisors
            .iter()
            .find(|a| a["advisor_id"] == who.id.to_string())
            .unwrap()["figures"]
            .clone()
    };
    let anna_figures = of(&anna);
    assert_eq!(anna_figures["clients_in_book"], 2);
    assert_eq!(anna_figures["interactions"], 2);
    assert_eq!(anna_figures["outreach_suppressed"], 1);
    assert_eq!(anna_figures["tasks_overdue"], 1);
    assert_eq!(anna_figures["appointments_completed"], 1);
    assert_eq!(
        anna_figures["sales"],
        json!({"purchases": 1, "amount": "500.00"})
    );
    let bruno_figures = of(&bruno);
    assert_eq!(bruno_figures["clients_in_book"], 1);
    assert_eq!(
        counts(&bruno_figures["interactions_by_channel"]),
        pairs(&[("email", 1)])
    );
    assert_eq!(bruno_figures["tasks_overdue"], 1);
    assert_eq!(bruno_figures["appointments_upcoming"], 1);
    assert_eq!(
        bruno_figures["sales"],
        json!({"purchases": 1, "amount": "300.00"})
    );

    // Taro's own figures hold only Tokyo's.
    let (_, page) = dashboard(&app, &taro.token, "?period=7d").await;
    assert_eq!(page["figures"]["clients_in_book"], 1);
    assert_eq!(
        page["figures"]["sales"],
        json!({"purchases": 1, "amount": "1000.00"})
    );
}

#[tokio::test]
async fn the_dashboard_refuses_bad_periods_outsiders_and_other_brands() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    for bad in ["7w", "0d", "366d", "d", "thirty", "30"] {
        let (status, body) = dashboard(&app, &advisor.token, &format!("?period={bad}")).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], "period", "{body}");
    }
    let (status, body) = dashboard(&app, &advisor.token, "?since=7d").await;
    assert_eq!(status, 400, "an unknown parameter: {body}");

    let other_brand = person(
        &app,
        "ca.dash@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let (status, body) = dashboard(&app, &other_brand.token, "").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(code(&body), "not-found");
    let (status, _) = dashboard(&app, &advisor.token, "").await;
    assert_eq!(status, 200);
    let response = send(
        &app,
        Method::GET,
        Some(&advisor.token),
        "/api/v1/brands/atelier/clienteling/dashboard",
        None,
    )
    .await;
    assert_eq!(response.status(), 404, "another brand's path");

    let customer = customer_token(&app, "cleo.dash@example.com").await;
    let marketer = marketer_token(&app, "mkt.dash@maison.example", "maison").await;
    for (token, status) in [(Some(&customer), 403), (Some(&marketer), 403), (None, 401)] {
        let mut request = app.client.get(app.url(DASHBOARD));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{token:?}");
        problem(response).await;
    }
}
