//! The capacity under concurrency: 50 guests accepting through their links at once for the last 10 places.

use futures::future::join_all;

use super::{
    answer, event_body, guest, guests, invitation_template, invite_segment, link_path, open_event,
    phone, segment, send_all, world,
};

#[tokio::test]
async fn fifty_simultaneous_accepts_for_the_last_ten_places_confirm_exactly_ten() {
    let world = world().await;
    let app = &world.app;
    let event = open_event(&world, event_body(Some(12), None)).await;
    let template = invitation_template(&world).await;
    let people = join_all((0..52).map(|i| guest(&world, i, Some("granted")))).await;
    let members = segment(app, &world.marketer, "maison", &people).await;
    let (status, invited) = invite_segment(&world, event, members, template).await;
    assert_eq!(
        (status, invited["invited"].as_u64()),
        (202, Some(52)),
        "{invited}"
    );
    let report = send_all(&world, event).await;
    assert_eq!(report.sent, 52, "{report:?}");
    let links = join_all((0..52).map(|i| async move { link_path(app, &phone(i)).await })).await;
    for link in &links[..2] {
        let (_, first) = answer(app, link, "accept").await;
        assert_eq!(first["guest_status"], "confirmed");
    }

    let answers = join_all(links[2..].iter().map(|link| answer(app, link, "accept"))).await;
    let mut confirmed = 0;
    let mut waitlisted = 0;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        match body["guest_status"].as_str() {
            Some("confirmed") => confirmed += 1,
            Some("waitlisted") => waitlisted += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((confirmed, waitlisted), (10, 40));
    let (_, counts) = guests(app, &world.marketer, event).await;
    assert_eq!(
        (counts["confirmed"].as_i64(), counts["waitlisted"].as_i64()),
        (Some(12), Some(40))
    );
}
