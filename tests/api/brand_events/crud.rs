//! Events: create (a draft), read, replace, the status transitions, delete (drafts only), and every field
//! refused with a problem that changes nothing.

use reqwest::Method;
use serde_json::json;

use super::{EVENTS, call, code, event_body, invitation_template, open_event, world};

#[tokio::test]
async fn a_marketer_creates_a_draft_opens_closes_reopens_and_cancels_it_for_good() {
    let world = world().await;
    let app = &world.app;
    let token = Some(world.marketer.as_str());
    let (status, event) = call(
        app,
        Method::POST,
        token,
        EVENTS,
        Some(event_body(Some(40), None)),
    )
    .await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["status"], "draft");
    assert_eq!(event["capacity"], 40);
    assert_eq!(event["store"], "paris-1");
    assert_eq!(event["counts"]["invited"], 0);
    let id = event["id"].as_str().unwrap();
    let (status, read) = call(app, Method::GET, token, &format!("{EVENTS}/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(read["name"], "Winter soirée");

    for (action, expected) in [("open", "open"), ("close", "closed"), ("open", "open")] {
        let (status, body) = call(
            app,
            Method::POST,
            token,
            &format!("{EVENTS}/{id}/{action}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(body["status"], expected);
    }
    let (status, body) = call(
        app,
        Method::POST,
        token,
        &format!("{EVENTS}/{id}/open"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (409, "event-transition-invalid"));
    let (status, body) = call(
        app,
        Method::POST,
        token,
        &format!("{EVENTS}/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
    for action in ["open", "close", "cancel"] {
        let (status, body) = call(
            app,
            Method::POST,
            token,
            &format!("{EVENTS}/{id}/{action}"),
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (409, "event-transition-invalid"),
            "{action}"
        );
    }
    let (status, body) = call(
        app,
        Method::PUT,
        token,
        &format!("{EVENTS}/{id}"),
        Some(event_body(None, None)),
    )
    .await;
    assert_eq!((status, code(&body)), (409, "event-not-editable"));
    let (status, body) = call(app, Method::DELETE, token, &format!("{EVENTS}/{id}"), None).await;
    assert_eq!((status, code(&body)), (409, "event-not-editable"));
}

#[tokio::test]
async fn a_draft_is_replaced_and_deleted_and_lists_page_with_a_cursor() {
    let world = world().await;
    let app = &world.app;
    let token = Some(world.marketer.as_str());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, event) = call(
            app,
            Method::POST,
            token,
            EVENTS,
            Some(event_body(None, None)),
        )
        .await;
        ids.push(event["id"].as_str().unwrap().to_owned());
    }
    let mut body = event_body(Some(5), None);
    body["name"] = json!("Spring preview");
    body["store"] = json!(null);
    let (status, replaced) = call(
        app,
        Method::PUT,
        token,
        &format!("{EVENTS}/{}", ids[0]),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "Spring preview");
    assert_eq!(replaced["store"], json!(null));
    assert_eq!(replaced["capacity"], 5);

    let (status, first) = call(app, Method::GET, token, &format!("{EVENTS}?limit=2"), None).await;
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = call(
        app,
        Method::GET,
        token,
        &format!("{EVENTS}?limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(second["items"][0]["id"], ids[2].as_str());
    assert_eq!(second["next_cursor"], json!(null));
    let (status, body) = call(
        app,
        Method::GET,
        token,
        &format!("{EVENTS}?cursor=bm9wZQ"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "invalid-query-parameter"));
    let (status, body) = call(
        app,
        Method::GET,
        token,
        &format!("{EVENTS}?status=soon"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (422, "validation-failed"));

    let (status, _) = call(
        app,
        Method::DELETE,
        token,
        &format!("{EVENTS}/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        app,
        Method::GET,
        token,
        &format!("{EVENTS}/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        app,
        Method::GET,
        token,
        &format!("{EVENTS}/not-a-uuid"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_invalid_field_is_refused_and_nothing_is_created() {
    let world = world().await;
    let app = &world.app;
    let token = Some(world.marketer.as_str());
    let marketing = crate::crm_messages::template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("marketing"),
    )
    .await;
    let base = event_body(None, None);
    let starts = base["starts_at"].clone();
    let cases = [
        ("name", json!({ "name": "  " })),
        ("ends_at", json!({ "ends_at": starts })),
        (
            "ends_at",
            json!({ "starts_at": "2020-01-01T10:00:00Z", "ends_at": "2020-01-01T12:00:00Z" }),
        ),
        ("starts_at", json!({ "starts_at": "1900-01-01T10:00:00Z" })),
        ("capacity", json!({ "capacity": 0 })),
        ("capacity", json!({ "capacity": 100_001 })),
        ("store", json!({ "store": "lyon-9" })),
        ("store", json!({ "store": "Not A Slug" })),
        ("venue", json!({ "store": null, "venue": null })),
        ("venue", json!({ "venue": "x".repeat(301) })),
        (
            "rsvp_deadline",
            json!({ "rsvp_deadline": "2099-01-01T00:00:00Z" }),
        ),
        (
            "promotion_template_id",
            json!({ "promotion_template_id": marketing }),
        ),
        (
            "promotion_template_id",
            json!({ "promotion_template_id": uuid::Uuid::now_v7() }),
        ),
    ];
    for (field, change) in cases {
        let mut body = base.clone();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, problem) = call(app, Method::POST, token, EVENTS, Some(body)).await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
    }
    let (status, problem) = call(
        app,
        Method::POST,
        token,
        EVENTS,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = call(
        app,
        Method::POST,
        token,
        EVENTS,
        Some(json!({ "colour": "red" })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let (_, list) = call(app, Method::GET, token, EVENTS, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn capacity_is_not_lowered_below_the_confirmed_guests_nor_an_event_over_opened() {
    let world = world().await;
    let app = &world.app;
    let token = Some(world.marketer.as_str());
    let id = open_event(&world, event_body(Some(3), None)).await;
    let template = invitation_template(&world).await;
    let mut members = Vec::new();
    for i in 0..2 {
        members.push(super::guest(&world, 80 + i, Some("granted")).await);
    }
    let segment = super::segment(app, &world.marketer, "maison", &members).await;
    super::invite_segment(&world, id, segment, template).await;
    let (guests, _) = super::guests(app, &world.marketer, id).await;
    for guest in &guests {
        let path = format!(
            "{EVENTS}/{id}/guests/{}/rsvp",
            guest["id"].as_str().unwrap()
        );
        let (status, _) = call(
            app,
            Method::POST,
            token,
            &path,
            Some(json!({ "response": "accept" })),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, problem) = call(
        app,
        Method::PUT,
        token,
        &format!("{EVENTS}/{id}"),
        Some(event_body(Some(1), None)),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "below_confirmed");
    let (_, event) = call(app, Method::GET, token, &format!("{EVENTS}/{id}"), None).await;
    assert_eq!(event["capacity"], 3);
}
