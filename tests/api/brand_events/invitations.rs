//! Invitations: a segment's members frozen into one invitation per person and messaged through the send path
//! (consent applies: a guest without it is suppressed, with the reason in the guest list), inviting again
//! adding only the new (a merged profile counting once), a crash-and-rerun never sending twice, and an
//! advisor's invitation of one client logged as an interaction.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{
    EVENTS, call, code, event_body, guest, guest_of, guests, invitation_template, invite_segment,
    open_event, phone, segment, send_all, world,
};
use crate::clienteling::fixtures::{client, id_of, paris};

#[tokio::test]
async fn a_segment_invitation_messages_consenting_members_and_records_each_suppression() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(Some(50), None)).await;
    let template = invitation_template(&world).await;
    let granted = guest(&world, 1, Some("granted")).await;
    let silent = guest(&world, 2, None).await;
    let denied = guest(&world, 3, Some("denied")).await;
    let members = segment(app, &world.marketer, "maison", &[granted, silent, denied]).await;

    let (status, invited) = invite_segment(&world, event, members, template).await;
    assert_eq!(status, 202, "{invited}");
    assert_eq!(invited["invited"], 3);
    let (listed, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(counts["invited"], 3);
    assert!(
        listed
            .iter()
            .all(|g| g["invitation"]["status"] == "pending")
    );

    let report = send_all(&world, event).await;
    assert_eq!((report.sent, report.suppressed), (1, 2), "{report:?}");
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(guest_of(&listed, granted)["invitation"]["status"], "sent");
    assert_eq!(guest_of(&listed, granted)["first_name"], "Guest1");
    let silent_guest = guest_of(&listed, silent);
    assert_eq!(silent_guest["invitation"]["status"], "suppressed");
    assert_eq!(silent_guest["invitation"]["reason"], "no_consent");
    assert_eq!(
        guest_of(&listed, denied)["invitation"]["reason"],
        "consent_denied"
    );

    let sent = app.sandbox().messages_to(&phone(1)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body = sent[0]["body"].as_str().unwrap();
    assert!(body.starts_with("Guest1, Maison"), "{body}");
    assert!(body.contains("Winter soirée"), "{body}");
    assert!(body.contains("The first-floor salon"), "{body}");
    assert!(
        body.contains(&format!("/api/v1/brands/maison/events/{event}/rsvp/")),
        "{body}"
    );
    assert!(app.sandbox().messages_to(&phone(2)).await.is_empty());
    assert!(app.sandbox().messages_to(&phone(3)).await.is_empty());
}

#[tokio::test]
async fn inviting_again_adds_only_new_members_and_a_merged_profile_counts_once() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(None, None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 10, Some("granted")).await;
    let bea = guest(&world, 11, Some("granted")).await;
    let first = segment(app, &world.marketer, "maison", &[anne, bea]).await;
    invite_segment(&world, event, first, template).await;
    send_all(&world, event).await;

    let (status, again) = invite_segment(&world, event, first, template).await;
    assert_eq!(status, 202);
    assert_eq!(
        (again["invited"].as_u64(), again["already_invited"].as_u64()),
        (Some(0), Some(2))
    );

    // Anne's second profile absorbs her first: the survivor is the person already invited.
    let anne_again = guest(&world, 12, Some("granted")).await;
    let (status, merged) = call(
        app,
        Method::POST,
        Some(&world.marketer),
        "/api/v1/brands/maison/crm/merges",
        Some(json!({ "survivor_id": anne_again, "absorbed_ids": [anne], "dry_run": false })),
    )
    .await;
    assert!(status == 200 || status == 201, "{merged}");
    let cleo = guest(&world, 13, Some("granted")).await;
    let second = segment(app, &world.marketer, "maison", &[anne_again, bea, cleo]).await;
    let (_, added) = invite_segment(&world, event, second, template).await;
    assert_eq!(
        (added["invited"].as_u64(), added["already_invited"].as_u64()),
        (Some(1), Some(2)),
        "{added}"
    );

    let report = send_all(&world, event).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let (listed, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(counts["invited"], 3);
    assert_eq!(listed.len(), 3);
    for i in [10, 11, 13] {
        assert_eq!(app.sandbox().messages_to(&phone(i)).await.len(), 1, "{i}");
    }
    assert!(app.sandbox().messages_to(&phone(12)).await.is_empty());
}

#[tokio::test]
async fn a_run_cut_short_after_the_send_path_took_a_message_never_sends_it_twice() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(None, None)).await;
    let template = invitation_template(&world).await;
    let anne = guest(&world, 20, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    invite_segment(&world, event, members, template).await;
    send_all(&world, event).await;
    // As if the run had crashed before writing the outcome: the row is pending again.
    sqlx::query("UPDATE brand_event_invitations SET message_status = 'pending', message_id = NULL WHERE event_id = $1")
        .bind(event)
        .execute(&app.db)
        .await
        .unwrap();

    let report = send_all(&world, event).await;
    assert_eq!(report.sent, 1);
    assert_eq!(app.sandbox().messages_to(&phone(20)).await.len(), 1);
    let (listed, _) = guests(app, &world.marketer, event).await;
    assert_eq!(listed[0]["invitation"]["status"], "sent");
}

#[tokio::test]
async fn invitations_are_refused_for_a_draft_a_foreign_segment_or_a_template_not_for_events() {
    let world = world().await;
    let app = &world.app;
    let token = Some(world.marketer.as_str());
    let template = invitation_template(&world).await;
    let anne = guest(&world, 30, Some("granted")).await;
    let members = segment(app, &world.marketer, "maison", &[anne]).await;
    let (_, draft) = call(
        app,
        Method::POST,
        token,
        EVENTS,
        Some(event_body(None, None)),
    )
    .await;
    let draft: Uuid = draft["id"].as_str().unwrap().parse().unwrap();
    let (status, problem) = invite_segment(&world, draft, members, template).await;
    assert_eq!((status, code(&problem)), (409, "event-not-open"));

    let event = open_event(&world, event_body(None, None)).await;
    let marketing = crate::crm_messages::template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("marketing"),
    )
    .await;
    let path = format!("{EVENTS}/{event}/invitations/segment");
    for (field, body) in [
        (
            "template_id",
            json!({ "segment_id": members, "channel": "sms", "template_id": marketing }),
        ),
        (
            "template_id",
            json!({ "segment_id": members, "channel": "email", "template_id": template }),
        ),
        (
            "channel",
            json!({ "segment_id": members, "channel": "pigeon", "template_id": template }),
        ),
        (
            "segment_id",
            json!({ "segment_id": Uuid::now_v7(), "channel": "sms", "template_id": template }),
        ),
    ] {
        let (status, problem) = call(app, Method::POST, token, &path, Some(body)).await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (_, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(counts["invited"], 0);
}

#[tokio::test]
async fn an_advisor_invites_a_client_of_the_book_once_logged_as_an_event_invitation_interaction() {
    let world = world().await;
    let app = &world.app;
    let advisor = paris(app).await;
    let claire = id_of(
        &client(
            app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let event = open_event(&world, event_body(None, None)).await;
    let path = format!("{EVENTS}/{event}/invitations");

    let (status, invited) = call(
        app,
        Method::POST,
        Some(&advisor.token),
        &path,
        Some(json!({ "client_id": claire })),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["source"], "advisor");
    assert_eq!(invited["invited_by"], advisor.id.to_string());
    assert_eq!(invited["invitation"]["status"], "none");
    assert_eq!(invited["first_name"], "Claire");
    let (status, again) = call(
        app,
        Method::POST,
        Some(&advisor.token),
        &path,
        Some(json!({ "client_id": claire })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], invited["id"]);

    let interactions = crate::helpers::get_json_as(
        app,
        &advisor.token,
        &format!("/api/v1/brands/maison/clienteling/clients/{claire}/interactions"),
    )
    .await;
    let items = interactions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{interactions}");
    assert_eq!(items[0]["context"], "event_invitation");
    assert_eq!(items[0]["metadata"]["event_name"], "Winter soirée");
}
