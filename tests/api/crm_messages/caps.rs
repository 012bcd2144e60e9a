//! `…/crm/message-caps`: the brand's frequency caps, read with the defaults they replace, replaced whole,
//! validated, applied by the send path, and the brand's alone.

use chrono::{TimeZone, Utc};
use concierge::crm::consent::Purpose;
use concierge::crm::messages::{SendOutcome, Suppression};
use reqwest::Method;
use serde_json::{Value, json};

use super::{brand, consent, profile, request, send, sms_template, template_id};
use crate::helpers::{
    Sandboxed, TestApp, admin_token, get_as, marketer_token, problem, spawn_app,
    spawn_sandboxed_app_with, staff, token_of,
};

const PATH: &str = "/api/v1/brands/maison/crm/message-caps";

async fn put(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    let mut request = app.client.put(app.url(path)).json(body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn cap_of<'a>(caps: &'a Value, purpose: &str) -> Option<&'a Value> {
    caps["caps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cap| cap["purpose"] == purpose)
}

#[tokio::test]
async fn a_marketer_reads_the_defaults_and_replaces_them_with_the_brands_own() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let read: Value = get_as(&app, &token, PATH).await.json().await.unwrap();
    assert_eq!(
        cap_of(&read, "marketing"),
        Some(
            &json!({ "purpose": "marketing", "max_messages": 3, "window_secs": 604800, "source": "default" })
        )
    );
    assert!(
        cap_of(&read, "service").is_none(),
        "service has no cap: {read}"
    );
    let body = json!({ "caps": [
        { "purpose": "marketing", "max_messages": 1, "window_secs": 86400 },
        { "purpose": "service", "max_messages": 0, "window_secs": 3600 }
    ] });
    let response = put(&app, &token, PATH, &body).await;
    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        cap_of(&replaced, "marketing"),
        Some(
            &json!({ "purpose": "marketing", "max_messages": 1, "window_secs": 86400, "source": "brand" })
        )
    );
    assert_eq!(cap_of(&replaced, "service").unwrap()["max_messages"], 0);
    assert_eq!(
        get_as(&app, &token, PATH)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        replaced
    );
    // Replaced whole: a purpose left out goes back to its default.
    let response = put(
        &app,
        &token,
        PATH,
        &json!({ "caps": [{ "purpose": "service", "max_messages": 5, "window_secs": 60 }] }),
    )
    .await;
    let again: Value = response.json().await.unwrap();
    assert_eq!(cap_of(&again, "marketing").unwrap()["source"], "default");
    assert_eq!(cap_of(&again, "service").unwrap()["max_messages"], 5);
    // Another brand's caps are its own.
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs: Value = get_as(&app, &atelier, "/api/v1/brands/atelier/crm/message-caps")
        .await
        .json()
        .await
        .unwrap();
    assert!(cap_of(&theirs, "service").is_none(), "{theirs}");
}

#[tokio::test]
async fn caps_out_of_bounds_or_twice_for_a_purpose_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let events = json!({ "purpose": "events", "max_messages": 1, "window_secs": 3600 });
    let cases = [
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": 10001, "window_secs": 3600 }] }),
            Some("caps/0/max_messages"),
        ),
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 59 }] }),
            Some("caps/0/window_secs"),
        ),
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 31622401 }] }),
            Some("caps/0/window_secs"),
        ),
        (json!({ "caps": [events, events] }), Some("caps/1/purpose")),
        (
            json!({ "caps": [events, events, events, events, events] }),
            Some("caps"),
        ),
        (
            json!({ "caps": [{ "purpose": "spam", "max_messages": 1, "window_secs": 3600 }] }),
            None,
        ),
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": -1, "window_secs": 3600 }] }),
            None,
        ),
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 1e12 }] }),
            None,
        ),
        (
            json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 3600, "channel": "sms" }] }),
            None,
        ),
        (json!({ "marketing": 1 }), None),
    ];
    for (body, field) in cases {
        let response = put(&app, &token, PATH, &body).await;
        let status = response.status().as_u16();
        let problem = problem(response).await;
        match field {
            Some(field) => {
                assert_eq!(status, 422, "{body}: {problem}");
                assert!(
                    problem["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["field"] == field),
                    "{body}: {problem}"
                );
            }
            None => assert!((400..500).contains(&status), "{body}: {status} {problem}"),
        }
    }
    let read: Value = get_as(&app, &token, PATH).await.json().await.unwrap();
    assert_eq!(
        cap_of(&read, "marketing").unwrap()["source"],
        "default",
        "nothing was saved"
    );
}

#[tokio::test]
async fn only_the_brands_marketers_and_admins_reach_its_caps() {
    let app = spawn_app().await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let admin = admin_token(&app, "admin@concierge.example").await;
    let body =
        json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 3600 }] });
    for (who, token, expected) in [
        ("another brand's marketer", atelier.as_str(), 404),
        ("an advisor of the brand", advisor.as_str(), 403),
        ("anonymous", "", 401),
    ] {
        for method in [Method::GET, Method::PUT] {
            let mut request = app.client.request(method.clone(), app.url(PATH));
            if !token.is_empty() {
                request = request.bearer_auth(token);
            }
            if method == Method::PUT {
                request = request.json(&body);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, expected, "{who} {method}");
        }
    }
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let read: Value = get_as(&app, &token, PATH).await.json().await.unwrap();
    assert_eq!(cap_of(&read, "marketing").unwrap()["source"], "default");
    let response = put(&app, &admin, PATH, &body).await;
    assert_eq!(response.status(), 200, "an admin sets any brand's caps");
    let unknown = put(&app, &admin, "/api/v1/brands/nope/crm/message-caps", &body).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn concurrent_replacements_each_answer_and_one_of_them_wins_whole() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let bodies: Vec<Value> = (1..=6)
        .map(|n| {
            let other = if n % 2 == 0 { "events" } else { "outreach" };
            json!({ "caps": [
                { "purpose": "marketing", "max_messages": n, "window_secs": 3600 },
                { "purpose": other, "max_messages": n, "window_secs": 3600 }
            ] })
        })
        .collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|body| put(&app, &token, PATH, body))).await;
    for answer in answers {
        assert_eq!(answer.status(), 200);
    }
    let read: Value = get_as(&app, &token, PATH).await.json().await.unwrap();
    let n = cap_of(&read, "marketing").unwrap()["max_messages"]
        .as_u64()
        .unwrap();
    let (kept, dropped) = if n.is_multiple_of(2) {
        ("events", "outreach")
    } else {
        ("outreach", "events")
    };
    assert_eq!(cap_of(&read, kept).unwrap()["max_messages"], n, "{read}");
    assert_ne!(
        cap_of(&read, dropped).map(|c| c["source"].clone()),
        Some(json!("brand")),
        "{read}"
    );
}

#[tokio::test]
async fn the_send_path_counts_against_the_cap_the_brand_set() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap());
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": "+33612345201" })).await;
    consent(
        &app,
        &token,
        "maison",
        person,
        "sms",
        "marketing",
        "granted",
    )
    .await;
    let response = put(
        &app,
        &token,
        PATH,
        &json!({ "caps": [{ "purpose": "marketing", "max_messages": 1, "window_secs": 86400 }] }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let first = send(
        &app,
        &maison,
        &request(person, template, Purpose::Marketing, "cap-1"),
    )
    .await;
    assert!(matches!(first, SendOutcome::Sent { .. }), "{first:?}");
    let second = send(
        &app,
        &maison,
        &request(person, template, Purpose::Marketing, "cap-2"),
    )
    .await;
    assert!(
        matches!(
            second,
            SendOutcome::Suppressed {
                reason: Suppression::FrequencyCap,
                ..
            }
        ),
        "{second:?}"
    );
}
