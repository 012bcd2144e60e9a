//! A merge through the API and a batch of events for the same profiles, at the same time: both lock the
//! profiles in id order before the scores' and the segments' locks, so they queue instead of deadlocking,
//! and membership ends as the rule says whichever ran first.

use serde_json::json;
use uuid::Uuid;

use super::merges::{ingest, page_view, purchase};
use super::{brand_id, create, members, post, refresh};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn a_merge_and_events_on_the_same_profiles_at_once_neither_deadlock_nor_lose_membership() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    brand_id(&app, "maison").await;
    let buyers = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "buyers", "name": "Two purchases",
        "rule": {"activity": "purchase", "count": {"gte": 2}}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browsers = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "browsers", "name": "Two views",
        "rule": {"activity": "page_view", "count": {"gte": 2}}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut survivors = Vec::new();
    for round in 0..5 {
        let email = format!("race{round}@example.com");
        let loyalty = format!("race{round}");
        let absorbed = ingest(
            &app,
            &token,
            json!([purchase(&format!("a{round}"), &email)]),
        )
        .await;
        let survivor = ingest(
            &app,
            &token,
            json!([page_view(&format!("b{round}"), &loyalty)]),
        )
        .await;
        let body = json!({"survivor_id": survivor, "absorbed_ids": [absorbed]});
        let merge = post(&app, &token, "/api/v1/brands/maison/crm/merges", &body);
        let events = json!([
            purchase(&format!("c{round}"), &email),
            page_view(&format!("d{round}"), &loyalty)
        ]);
        let events = post(&app, &token, "/api/v1/brands/maison/crm/events", &events);
        let ((merged, merge_body), (sent, answer)) = tokio::join!(merge, events);
        assert_eq!(merged, 201, "round {round}: {merge_body}");
        assert_eq!(sent, 200, "round {round}: {answer}");
        for result in answer["results"].as_array().unwrap() {
            assert_eq!(result["status"], "accepted", "round {round}: {answer}");
            // Before the merge or after it, every event ends on the survivor.
        }
        survivors.push(survivor);
        let activities: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT profile_id FROM crm_activities WHERE profile_id = ANY($1)",
        )
        .bind(vec![absorbed, survivor])
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert_eq!(activities, vec![survivor], "round {round}");
    }
    survivors.sort();
    assert_eq!(members(&app, &buyers).await, survivors);
    assert_eq!(members(&app, &browsers).await, survivors);
    for segment in [&buyers, &browsers] {
        let report = refresh(&app, &token, "maison", segment).await;
        assert_eq!(report["items"][0]["entered"], 0, "{report}");
        assert_eq!(report["items"][0]["exited"], 0, "{report}");
    }
}
