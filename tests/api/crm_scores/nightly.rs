//! The nightly run as the job runner schedules it: a replica-safe cron tick, every live profile, in chunks.

use serde_json::json;

use crate::helpers::{TestOptions, eventually, marketer_token, spawn_app_with};

#[tokio::test]
async fn the_scheduled_run_scores_every_live_profile_in_chunks() {
    let app = spawn_app_with(TestOptions {
        jobs: true,
        configure: Box::new(|settings| {
            settings.crm.scores.nightly_cron = "* * * * * *".into();
            settings.crm.scores.nightly_chunk = 2;
        }),
        ..Default::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Profiles made through the API have had no event: only the nightly run scores them.
    let mut ids = Vec::new();
    for n in 0..5 {
        let response = app
            .client
            .post(app.url("/api/v1/brands/maison/crm/profiles"))
            .bearer_auth(&token)
            .json(
                &json!({"identifiers": [{"kind": "email", "value": format!("p{n}@example.com")}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(
            body["profile"]["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        );
    }
    eventually(20, "every profile scored by the nightly run", || async {
        let scored: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT profile_id) FROM crm_score_history
             WHERE profile_id = ANY($1) AND cause = 'nightly'",
        )
        .bind(&ids)
        .fetch_one(&app.db)
        .await
        .unwrap();
        (scored == 5).then_some(())
    })
    .await;
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_scores WHERE profile_id = ANY($1)")
            .bind(&ids)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(rows, 10, "both scores of each");
    app.stop().await;
}
