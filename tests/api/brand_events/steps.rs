//! Check-in by staff, and every step of a guest on the CRM timeline (through the outbox): `event_invited`,
//! `event_rsvp` with the response, `event_attended` — once each, however often delivered.

use reqwest::Method;
use serde_json::json;

use super::{
    EVENTS, answer, call, code, deliver_steps, event_body, guest, guest_of, guests,
    invitation_template, invite_segment, link_path, open_event, phone, segment, send_all, world,
};
use crate::clienteling::fixtures::paris;
use crate::crm_messages::activity_types;

#[tokio::test]
async fn a_confirmed_guest_is_checked_in_by_the_hosting_advisor_and_every_step_reaches_the_timeline()
 {
    let world = world().await;
    let app = &world.app;
    let advisor = paris(app).await;
    let event = open_event(&world, event_body(Some(1), None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 70, Some("granted")).await;
    let bea = guest(&world, 71, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne, bea]).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    answer(app, &link_path(app, &phone(70)).await, "accept").await;
    answer(app, &link_path(app, &phone(71)).await, "accept").await;

    // The Paris advisor hosts an event at paris-1: they see every guest and run the door.
    let (listed, counts) = guests(app, &advisor.token, event).await;
    assert_eq!(counts["confirmed"], 1);
    let check_in = |guest: &serde_json::Value| {
        format!(
            "{EVENTS}/{event}/guests/{}/check-in",
            guest["id"].as_str().unwrap()
        )
    };
    let (status, problem) = call(
        app,
        Method::POST,
        Some(&advisor.token),
        &check_in(guest_of(&listed, bea)),
        None,
    )
    .await;
    assert_eq!((status, code(&problem)), (409, "guest-not-confirmed"));
    let (status, attended) = call(
        app,
        Method::POST,
        Some(&advisor.token),
        &check_in(guest_of(&listed, anne)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{attended}");
    assert_eq!(attended["status"], "attended");
    assert!(attended["checked_in_at"].is_string());
    let (status, again) = call(
        app,
        Method::POST,
        Some(&advisor.token),
        &check_in(guest_of(&listed, anne)),
        None,
    )
    .await;
    assert_eq!((status, again["status"].as_str()), (200, Some("attended")));
    // A checked-in guest's answer stands.
    let (status, problem) = answer(app, &link_path(app, &phone(70)).await, "decline").await;
    assert_eq!((status, code(&problem)), (409, "guest-checked-in"));

    assert_eq!(deliver_steps(app).await, 0);
    assert_eq!(deliver_steps(app).await, 0);
    let steps: Vec<(String, serde_json::Value)> =
        activity_types(app, &world.marketer, "maison", anne)
            .await
            .into_iter()
            .filter(|(kind, _)| kind.starts_with("event_"))
            .collect();
    let kinds: Vec<&str> = steps.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["event_attended", "event_rsvp", "event_invited"],
        "{steps:?}"
    );
    assert_eq!(steps[1].1["response"], "accepted");
    assert_eq!(steps[1].1["status"], "confirmed");
    assert_eq!(steps[1].1["via"], "link");
    assert_eq!(steps[0].1["event_id"], event.to_string());
    let bea_steps: Vec<String> = activity_types(app, &world.marketer, "maison", bea)
        .await
        .into_iter()
        .filter(|(kind, props)| kind == "event_rsvp" && props["status"] == "waitlisted")
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(bea_steps.len(), 1);
}

#[tokio::test]
async fn a_marketer_answers_for_a_guest_and_the_deadline_binds_staff_too() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(None, None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 72, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    invite_segment(&world, event, members, template).await;
    let (listed, _) = guests(app, &world.marketer, event).await;
    let path = format!(
        "{EVENTS}/{event}/guests/{}/rsvp",
        listed[0]["id"].as_str().unwrap()
    );
    let (status, answered) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        &path,
        Some(json!({ "response": "accept" })),
    )
    .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(
        (
            answered["status"].as_str(),
            answered["responded_via"].as_str()
        ),
        (Some("confirmed"), Some("staff"))
    );
    let (status, _) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        &path,
        Some(json!({ "response": "perhaps" })),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}/close"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, problem) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        &path,
        Some(json!({ "response": "decline" })),
    )
    .await;
    assert_eq!((status, code(&problem)), (409, "rsvp-closed"));
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(listed[0]["status"], "confirmed");
}
