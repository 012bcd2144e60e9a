//! The RSVP link (public, no login): shown and answered; altered, another event's, expired, cancelled-event
//! and past-deadline links refused, changing nothing; the waitlist and its promotion, the promoted guest told.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{
    EVENTS, answer, call, code, event_body, guest, guest_of, guests, invitation_template,
    invite_segment, link_path, open_event, phone, promotion_template, segment, send_all, world,
};

#[tokio::test]
async fn a_guest_accepts_and_declines_through_the_link_without_signing_in() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(Some(10), None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 40, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    let link = link_path(app, &phone(40)).await;

    let (status, shown) = call(app, Method::GET, None, &link, None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["guest_status"], "invited");
    assert_eq!(shown["rsvp_open"], true);
    assert_eq!(shown["event"]["name"], "Winter soirée");
    assert!(shown["event"].get("capacity").is_none());

    let (status, accepted) = answer(app, &link, "accept").await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["guest_status"], "confirmed");
    let (_, again) = answer(app, &link, "accept").await;
    assert_eq!(again["guest_status"], "confirmed");
    let (status, declined) = answer(app, &link, "decline").await;
    assert_eq!(
        (status, declined["guest_status"].as_str()),
        (200, Some("declined"))
    );
    let (listed, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(counts["declined"], 1);
    assert_eq!(guest_of(&listed, anne)["responded_via"], "link");
    let (status, problem) = answer(app, &link, "maybe").await;
    assert_eq!(status, 422, "{problem}");
}

#[tokio::test]
async fn altered_foreign_expired_and_cancelled_links_are_refused_and_change_nothing() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(None, None)).await;
    let other = open_event(&world, event_body(None, None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 41, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    let link = link_path(app, &phone(41)).await;
    let token = link.rsplit('/').next().unwrap().to_owned();

    // One character of the token changed.
    let mut altered: Vec<char> = token.chars().collect();
    altered[5] = if altered[5] == 'x' { 'y' } else { 'x' };
    let altered: String = altered.into_iter().collect();
    let tampered = link.replace(&token, &altered);
    for (method, path) in [
        (Method::GET, tampered.clone()),
        (Method::POST, tampered.clone()),
        (
            Method::POST,
            link.replace(&event.to_string(), &other.to_string()),
        ),
        (
            Method::POST,
            link.replace("/brands/maison/", "/brands/atelier/"),
        ),
        (
            Method::POST,
            link.replace(&event.to_string(), "not-an-event"),
        ),
        (Method::POST, format!("{EVENTS}/{event}/rsvp/short")),
    ] {
        let (status, problem) = call(
            app,
            method.clone(),
            None,
            &path,
            Some(json!({ "response": "accept" })),
        )
        .await;
        assert_eq!(
            (status, code(&problem)),
            (400, "rsvp-link-invalid"),
            "{method} {path}: {problem}"
        );
    }

    // Past the deadline (the event's start): no RSVP, though the link still shows the invitation.
    let mut body = event_body(None, None);
    let starts = chrono::Utc::now() + Duration::days(30);
    body["rsvp_deadline"] = json!(starts - Duration::days(10));
    let (status, _) = call(
        app,
        Method::PUT,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    app.state.messages.clock().advance(Duration::days(25));
    let (status, problem) = answer(app, &link, "accept").await;
    assert_eq!((status, code(&problem)), (409, "rsvp-closed"), "{problem}");
    let (_, shown) = call(app, Method::GET, None, &link, None).await;
    assert_eq!(shown["rsvp_open"], false);

    // After the event: the link has expired.
    app.state.messages.clock().advance(Duration::days(10));
    for method in [Method::GET, Method::POST] {
        let (status, problem) = call(
            app,
            method,
            None,
            &link,
            Some(json!({ "response": "accept" })),
        )
        .await;
        assert_eq!(
            (status, code(&problem)),
            (410, "rsvp-link-expired"),
            "{problem}"
        );
    }
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(guest_of(&listed, anne)["status"], "invited");
}

#[tokio::test]
async fn a_cancelled_events_link_is_refused() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(None, None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 42, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    let link = link_path(app, &phone(42)).await;
    let (status, _) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}/cancel"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    for method in [Method::GET, Method::POST] {
        let (status, problem) = call(
            app,
            method,
            None,
            &link,
            Some(json!({ "response": "accept" })),
        )
        .await;
        assert_eq!(
            (status, code(&problem)),
            (409, "event-cancelled"),
            "{problem}"
        );
    }
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(guest_of(&listed, anne)["status"], "invited");
}

#[tokio::test]
async fn a_confirmed_guests_decline_promotes_the_first_waitlisted_guest_who_is_told() {
    let world = world().await;
    let app = &world.app;
    let promotion = promotion_template(&world).await;
    let event = open_event(&world, event_body(Some(1), Some(promotion))).await;
    let template = invitation_template(&world).await;
    let mut people: Vec<Uuid> = Vec::new();
    for i in 50..53 {
        people.push(guest(&world, i, Some("granted")).await);
    }
    let members = segment(app, &world.marketer, "maison", &people).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    let links = [
        link_path(app, &phone(50)).await,
        link_path(app, &phone(51)).await,
        link_path(app, &phone(52)).await,
    ];
    let mut statuses = Vec::new();
    for link in &links {
        let (status, answered) = answer(app, link, "accept").await;
        assert_eq!(status, 200, "{answered}");
        statuses.push(answered["guest_status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["confirmed", "waitlisted", "waitlisted"]);

    let (status, declined) = answer(app, &links[0], "decline").await;
    assert_eq!(
        (status, declined["guest_status"].as_str()),
        (200, Some("declined"))
    );
    let (listed, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(
        (counts["confirmed"].as_i64(), counts["waitlisted"].as_i64()),
        (Some(1), Some(1))
    );
    let promoted = guest_of(&listed, people[1]);
    assert_eq!(promoted["status"], "confirmed");
    assert_eq!(promoted["promotion_notice"]["status"], "pending");
    assert_eq!(guest_of(&listed, people[2])["status"], "waitlisted");

    // The brand's cap on event messages is used up by the invitation: the notice the guest asked for is
    // sent all the same.
    let (status, caps) = call(
        app,
        Method::PUT,
        Some(&world.marketer),
        "/api/v1/brands/maison/crm/message-caps",
        Some(json!({"caps": [{"purpose": "events", "max_messages": 1, "window_secs": 604800}]})),
    )
    .await;
    assert_eq!(status, 200, "{caps}");
    let report = send_all(&world, event).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let told = app.sandbox().messages_to(&phone(51)).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.iter()
            .any(|m| m["body"].as_str().unwrap().starts_with("Good news Guest51")),
        "{told:?}"
    );
    assert_eq!(app.sandbox().messages_to(&phone(52)).await.len(), 1);
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(
        guest_of(&listed, people[1])["promotion_notice"]["status"],
        "sent"
    );

    // A waitlisted guest's decline gives nobody a place.
    let (_, declined) = answer(app, &links[2], "decline").await;
    assert_eq!(declined["guest_status"], "declined");
    let (_, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(
        (counts["confirmed"].as_i64(), counts["waitlisted"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn more_places_promote_the_waitlist_in_order() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(Some(1), None)).await;
    let template = invitation_template(&world).await;
    let mut people = Vec::new();
    for i in 60..63 {
        people.push(guest(&world, i, Some("granted")).await);
    }
    let members = segment(app, &world.marketer, "maison", &people).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    for i in 60..63 {
        answer(app, &link_path(app, &phone(i)).await, "accept").await;
    }
    let (status, replaced) = call(
        app,
        Method::PUT,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}"),
        Some(event_body(Some(2), None)),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["counts"]["confirmed"], 2);
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(guest_of(&listed, people[1])["status"], "confirmed");
    assert_eq!(guest_of(&listed, people[2])["status"], "waitlisted");
    // No promotion template: the notice cannot go, and the guest list says why.
    assert_eq!(
        guest_of(&listed, people[1])["promotion_notice"]["reason"],
        "no_promotion_template"
    );
}
