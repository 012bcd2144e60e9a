//! Who reaches what: another brand's marketer finds nothing (404), advisors read published events but never
//! change them (403) nor see drafts, an advisor reaches only clients of their book (404 otherwise) and, at
//! an event they do not host, only the guests they invited; anonymous callers are refused (401).

use reqwest::Method;
use serde_json::json;

use super::{EVENTS, call, event_body, guests, open_event, world};
use crate::clienteling::fixtures::{client, id_of, paris, tokyo};
use crate::helpers::{customer_token, marketer_token};

#[tokio::test]
async fn another_brands_marketer_finds_nothing_and_cannot_invite() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(Some(5), None)).await;
    let atelier = marketer_token(app, "mkt@atelier.example", "atelier").await;
    for (method, path, body) in [
        (Method::GET, format!("{EVENTS}/{event}"), None),
        (Method::GET, format!("{EVENTS}/{event}/guests"), None),
        (
            Method::PUT,
            format!("{EVENTS}/{event}"),
            Some(event_body(None, None)),
        ),
        (Method::POST, format!("{EVENTS}/{event}/cancel"), None),
        (
            Method::GET,
            format!("/api/v1/brands/atelier/events/{event}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/brands/atelier/events/{event}/cancel"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/brands/atelier/events/{event}/guests"),
            None,
        ),
    ] {
        let (status, problem) = call(app, method.clone(), Some(&atelier), &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {problem}");
    }
    let (_, list) = call(
        app,
        Method::GET,
        Some(&atelier),
        "/api/v1/brands/atelier/events",
        None,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, event) = call(
        app,
        Method::GET,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}"),
        None,
    )
    .await;
    assert_eq!(event["status"], "open");
}

#[tokio::test]
async fn advisors_read_published_events_only_and_change_none_and_strangers_are_refused() {
    let world = world().await;
    let app = &world.app;
    let advisor = paris(app).await;
    let open = open_event(&world, event_body(None, None)).await;
    let (_, draft) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        EVENTS,
        Some(event_body(None, None)),
    )
    .await;
    let draft = draft["id"].as_str().unwrap().to_owned();

    let (status, list) = call(app, Method::GET, Some(&advisor.token), EVENTS, None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [open.to_string()]);
    let (status, _) = call(
        app,
        Method::GET,
        Some(&advisor.token),
        &format!("{EVENTS}/{draft}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    for (method, path, body) in [
        (
            Method::POST,
            EVENTS.to_owned(),
            Some(event_body(None, None)),
        ),
        (
            Method::PUT,
            format!("{EVENTS}/{open}"),
            Some(event_body(None, None)),
        ),
        (Method::POST, format!("{EVENTS}/{open}/cancel"), None),
        (Method::DELETE, format!("{EVENTS}/{draft}"), None),
        (
            Method::POST,
            format!("{EVENTS}/{open}/invitations/segment"),
            Some(
                json!({ "segment_id": uuid::Uuid::now_v7(), "channel": "sms", "template_id": uuid::Uuid::now_v7() }),
            ),
        ),
    ] {
        let (status, problem) = call(app, method.clone(), Some(&advisor.token), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
    }
    let customer = customer_token(app, "guest@example.com").await;
    let (status, _) = call(app, Method::GET, Some(&customer), EVENTS, None).await;
    assert_eq!(status, 403);
    let (status, _) = call(app, Method::GET, None, EVENTS, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(
        app,
        Method::POST,
        None,
        &format!("{EVENTS}/{open}/open"),
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_advisor_reaches_only_clients_of_their_book_and_guests_they_invited() {
    let world = world().await;
    let app = &world.app;
    let paris = paris(app).await;
    let tokyo = tokyo(app).await;
    let claire = id_of(
        &client(
            app,
            &paris.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let kenji = id_of(
        &client(
            app,
            &tokyo.token,
            "tokyo-1",
            "Kenji",
            "Sato",
            "kenji@example.com",
        )
        .await,
    );
    let event = open_event(&world, event_body(None, None)).await;
    let invite = format!("{EVENTS}/{event}/invitations");

    let (status, problem) = call(
        app,
        Method::POST,
        Some(&tokyo.token),
        &invite,
        Some(json!({ "client_id": claire })),
    )
    .await;
    assert_eq!(status, 404, "{problem}");
    let (status, claire_guest) = call(
        app,
        Method::POST,
        Some(&paris.token),
        &invite,
        Some(json!({ "client_id": claire })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        app,
        Method::POST,
        Some(&tokyo.token),
        &invite,
        Some(json!({ "client_id": kenji })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, problem) = call(
        app,
        Method::POST,
        Some(&paris.token),
        &invite,
        Some(json!({ "client_id": claire, "channel": "sms" })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    // The event is at paris-1: its Paris hosts see every guest, the Tokyo advisor only Kenji.
    let (hosted, counts) = guests(app, &paris.token, event).await;
    assert_eq!((hosted.len(), counts["invited"].as_i64()), (2, Some(2)));
    let (own, counts) = guests(app, &tokyo.token, event).await;
    assert_eq!((own.len(), counts["invited"].as_i64()), (1, Some(1)));
    assert_eq!(own[0]["profile_id"], kenji.as_str());

    let claire_id = claire_guest["id"].as_str().unwrap();
    for action in ["rsvp", "check-in"] {
        let (status, problem) = call(
            app,
            Method::POST,
            Some(&tokyo.token),
            &format!("{EVENTS}/{event}/guests/{claire_id}/{action}"),
            Some(json!({ "response": "accept" })),
        )
        .await;
        assert_eq!(status, 404, "{action}: {problem}");
    }
    let (status, answered) = call(
        app,
        Method::POST,
        Some(&paris.token),
        &format!("{EVENTS}/{event}/guests/{claire_id}/rsvp"),
        Some(json!({ "response": "accept" })),
    )
    .await;
    assert_eq!(
        (status, answered["status"].as_str()),
        (200, Some("confirmed")),
        "{answered}"
    );
}
