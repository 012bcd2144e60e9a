//! A person touched by the CRM and clienteling, and the search of every table for what is personal.

use concierge::crm::consent::Purpose;
use concierge::crm::messages::{Content, MessageChannel, MessageContext, SendOutcome, SendRequest};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, marketer_token, send, staff, token_of};

pub const FIRST: &str = "Margaux";
pub const LAST: &str = "Villeneuve-Erasmus";
pub const EMAIL: &str = "margaux.villeneuve@example.com";
pub const PHONE: &str = "+33698765432";
pub const MEMBER: &str = "M-424242";

/// What personal values the tests look for after an erasure.
pub const NEEDLES: [&str; 4] = [FIRST, LAST, "margaux.villeneuve", "698765432"];

pub struct Person {
    pub marketer: String,
    pub advisor: String,
    pub brand_id: Uuid,
    pub profile_id: Uuid,
    pub interaction: String,
    pub merge_id: String,
}

pub async fn events(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/events"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The person's first facts: a signup with names, phone, city and birthday, and a purchase by member number
/// alone (a second profile), then an event naming both (the profiles are merged: the ledger snapshots them).
pub fn history() -> Value {
    json!([
        {"id": "signup-1", "type": "signup", "occurred_at": "2026-11-01T10:00:00Z",
         "identifiers": [{"kind": "email", "value": EMAIL}, {"kind": "phone", "value": PHONE}],
         "traits": {"first_name": FIRST, "last_name": LAST, "phone": PHONE, "city": "Lyon",
                    "birthday": "1990-04-02", "email": EMAIL},
         "properties": {"referrer": format!("friend of {FIRST}"), "channel": "web"}},
        {"id": "purchase-1", "type": "gift_order", "occurred_at": "2026-11-02T10:00:00Z",
         "identifiers": [{"kind": "scl_member", "value": MEMBER}],
         "traits": {"first_name": FIRST, "last_name": LAST},
         "properties": {"amount": "1200.00", "currency": "EUR", "gift_message": format!("For {FIRST} {LAST}")}},
        {"id": "visit-1", "type": "page_view", "occurred_at": "2026-11-03T10:00:00Z",
         "identifiers": [{"kind": "email", "value": EMAIL}, {"kind": "scl_member", "value": MEMBER}],
         "properties": {"url": format!("https://maison.example/?u={EMAIL}")}}
    ])
}

/// Makes the person everywhere the CRM and clienteling keep people: profile, merge, consent, message, client
/// layer, interaction, task, appointment.
pub async fn person(app: &TestApp) -> Person {
    let marketer = marketer_token(app, "mkt@maison.example", "maison").await;
    let advisor_login = staff(
        app,
        "ca.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let advisor = token_of(&advisor_login);
    let advisor_id: Uuid = advisor_login["user"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();

    let first = events(app, &marketer, &history()).await;
    let statuses: Vec<&str> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "accepted", "accepted"], "{first}");
    assert_eq!(first["results"][2]["resolution"], "merged");
    let merge_id = first["results"][2]["merge_id"].as_str().unwrap().to_owned();
    let profile_id: Uuid = first["results"][2]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let consent = send(
        app,
        Method::PUT,
        Some(&marketer),
        &format!("/api/v1/brands/maison/crm/profiles/{profile_id}/consents/email/marketing"),
        Some(json!({ "status": "granted", "source": "signup form" })),
    )
    .await;
    assert_eq!(consent.status(), 200);

    // The client layer: the advisor files the same person (the email leads to the profile).
    let created = send(
        app,
        Method::POST,
        Some(&advisor),
        "/api/v1/brands/maison/clienteling/clients",
        Some(json!({
            "attributes": { "first_name": FIRST, "last_name": LAST, "email": EMAIL },
            "store": "paris-1",
            "notes": format!("{FIRST} prefers silk; call {PHONE}"),
            "preferences": { "sizes": { "shoes": "38" }, "colours": ["navy"] },
            "important_dates": [{ "label": format!("{FIRST}'s birthday"), "date": "1990-04-02" }],
        })),
    )
    .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let client: Value = created.json().await.unwrap();
    assert_eq!(
        client["id"],
        profile_id.to_string(),
        "one person, one profile"
    );

    let logged = send(
        app,
        Method::POST,
        Some(&advisor),
        &format!("/api/v1/brands/maison/clienteling/clients/{profile_id}/interactions"),
        Some(json!({
            "channel": "call", "context": "generic", "subject": format!("Call {FIRST} {LAST}"),
            "note": format!("Reached her on {PHONE}"), "metadata": {}
        })),
    )
    .await;
    assert_eq!(logged.status(), 201, "{}", logged.text().await.unwrap());
    let interaction = logged.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = app
        .client
        .patch(app.url(&format!(
            "/api/v1/brands/maison/clienteling/interactions/{interaction}"
        )))
        .bearer_auth(&advisor)
        .header("If-Match", "\"1\"")
        .json(&json!({ "note": format!("{FIRST} will come on Friday") }))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200, "{}", edited.text().await.unwrap());

    let task = send(
        app,
        Method::POST,
        Some(&advisor),
        "/api/v1/brands/maison/clienteling/tasks",
        Some(
            json!({ "client_id": profile_id, "title": format!("Call {FIRST} back"),
                     "notes": format!("Her number: {PHONE}"),
                     "due_at": chrono::Utc::now() + chrono::Duration::days(2) }),
        ),
    )
    .await;
    assert_eq!(task.status(), 201, "{}", task.text().await.unwrap());
    // An appointment as booked before (booking needs the store's hours; what erasure does to it is the point).
    sqlx::query(
        "INSERT INTO clienteling_appointments (id, brand_id, profile_id, advisor_id, store_code, kind,
             starts_at, ends_at, notes, booked_by)
         VALUES ($1, $2, $3, $4, 'paris-1', 'in_store', now() + interval '3 days',
                 now() + interval '3 days 1 hour', $5, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(brand.id)
    .bind(profile_id)
    .bind(advisor_id)
    .bind(format!("Fitting for {FIRST} {LAST}"))
    .execute(&app.db)
    .await
    .unwrap();

    // A message through the one send path: the ledger keeps its address and rendered body.
    let request = SendRequest {
        profile_id,
        channel: MessageChannel::Email,
        purpose: Purpose::Service,
        content: Content::Text {
            subject: Some(format!("Your appointment, {FIRST}")),
            body: format!("Dear {FIRST} {LAST}, see you on Friday."),
        },
        idempotency_key: "appointment-reminder-1".into(),
        context: MessageContext::default(),
        language: None,
        exempt_from_cap: false,
    };
    let sent = concierge::crm::messages::send(&app.state.messages, &brand, &request)
        .await
        .unwrap();
    assert!(matches!(sent, SendOutcome::Sent { .. }), "{sent:?}");

    Person {
        marketer,
        advisor,
        brand_id: brand.id,
        profile_id,
        interaction,
        merge_id,
    }
}

/// Every `schema.table` whose rows, as text, contain one of `needles` (case-insensitive), with the needle.
pub async fn tables_holding(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1, 2",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(tables.len() > 50, "every table: {}", tables.len());
    let mut found = Vec::new();
    for (schema, table) in tables {
        for needle in needles {
            // Names from the catalogue, quoted as identifiers.
            let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
            let sql = format!(
                "SELECT count(*) FROM {}.{} t WHERE strpos(lower(t::text), lower($1)) > 0",
                quoted(&schema),
                quoted(&table)
            );
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle)
                .fetch_one(&app.db)
                .await
                .unwrap();
            if count > 0 {
                found.push(format!("{schema}.{table} holds {needle:?} ({count} rows)"));
            }
        }
    }
    found
}

/// Whether `text` holds any of the needles.
pub fn personal(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    NEEDLES
        .iter()
        .copied()
        .filter(|needle| lower.contains(&needle.to_lowercase()))
        .collect()
}
