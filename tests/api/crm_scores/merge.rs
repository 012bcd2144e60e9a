//! A merge through the API rescores the survivor at once (its engagement takes in the absorbed profile's
//! activities, cause `merge`) and the absorbed profile loses its scores; an unmerge rescores both (cause
//! `unmerge`). Segments over a score follow in the same transaction.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{clock, event, purchase, scores_of, send};
use crate::crm_segments::{create, members, post};
use crate::helpers::{TestApp, marketer_token, spawn_app};

async fn causes(app: &TestApp, profile: &str) -> Vec<String> {
    let id: Uuid = profile.parse().unwrap();
    sqlx::query_scalar(
        "SELECT cause FROM crm_score_history WHERE profile_id = $1 AND score = 'engagement' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn stored(app: &TestApp, profile: &str) -> i64 {
    let id: Uuid = profile.parse().unwrap();
    sqlx::query_scalar("SELECT count(*) FROM crm_scores WHERE profile_id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn factors(score: &Value) -> Vec<String> {
    super::reasons(score)
        .into_iter()
        .map(|(factor, _, _)| factor)
        .collect()
}

#[tokio::test]
async fn a_merge_rescores_the_survivor_with_the_absorbed_activities_and_an_unmerge_rescores_both() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-10-10T12:00:00Z");
    let engaged = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "engaged", "name": "Engaged",
        "rule": {"score": "engagement", "op": "gte", "value": 40}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let absorbed = send(
        &app,
        &token,
        vec![
            purchase("p-1", "ann@example.com", "2026-10-10T10:00:00Z", "100.00"),
            purchase("p-2", "ann@example.com", "2026-10-10T11:00:00Z", "100.00"),
        ],
    )
    .await;
    let survivor = send(
        &app,
        &token,
        vec![event(
            "v-1",
            "page_view",
            "ann.b@example.com",
            "2026-10-10T11:00:00Z",
            json!({"url": "https://maison.example/"}),
        )],
    )
    .await;
    assert_eq!(
        scores_of(&app, &token, &survivor).await["engagement"]["value"],
        1
    );
    assert_eq!(
        scores_of(&app, &token, &absorbed).await["engagement"]["value"],
        50
    );
    assert_eq!(
        members(&app, &engaged).await,
        vec![absorbed.parse::<Uuid>().unwrap()]
    );

    let (status, body) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/merges",
        &json!({"survivor_id": survivor, "absorbed_ids": [absorbed]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let merge_id = body["merge"]["id"].as_str().unwrap().to_owned();
    let scores = scores_of(&app, &token, &survivor).await;
    assert_eq!(scores["engagement"]["value"], 51, "{scores}");
    assert_eq!(factors(&scores["engagement"]), ["purchase", "page_view"]);
    assert_eq!(
        causes(&app, &survivor).await.last().map(String::as_str),
        Some("merge")
    );
    assert_eq!(
        stored(&app, &absorbed).await,
        0,
        "the absorbed profile's scores are gone"
    );
    assert_eq!(
        members(&app, &engaged).await,
        vec![survivor.parse::<Uuid>().unwrap()]
    );

    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}/unmerge"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let scores = scores_of(&app, &token, &survivor).await;
    assert_eq!(scores["engagement"]["value"], 1, "{scores}");
    assert_eq!(
        causes(&app, &survivor).await.last().map(String::as_str),
        Some("unmerge")
    );
    let back = scores_of(&app, &token, &absorbed).await;
    assert_eq!(back["engagement"]["value"], 50, "{back}");
    assert_eq!(
        causes(&app, &absorbed).await.last().map(String::as_str),
        Some("unmerge")
    );
    assert_eq!(
        members(&app, &engaged).await,
        vec![absorbed.parse::<Uuid>().unwrap()]
    );
}
