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

#[tokio::test]
async fn a_failing_profile_is_counted_and_the_run_goes_on_with_the_others() {
    let app = crate::helpers::spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let response = app
            .client
            .post(app.url("/api/v1/brands/maison/crm/profiles"))
            .bearer_auth(&token)
            .json(
                &json!({"identifiers": [{"kind": "email", "value": format!("f{n}@example.com")}]}),
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
    ids.sort();
    // The third profile's scores cannot be written: it opens the second chunk of two, so the profile after
    // it in the same chunk, and the chunk after, show the run went on.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION refuse_score() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.profile_id = '{}' THEN RAISE EXCEPTION 'broken profile'; END IF; RETURN NEW; END $$",
        ids[2]
    )))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_score BEFORE INSERT OR UPDATE ON crm_scores
         FOR EACH ROW EXECUTE FUNCTION refuse_score()",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let summary = super::nightly(&app).await;
    assert_eq!(summary.failed, 1, "{summary:?}");
    assert_eq!(summary.profiles, 4, "{summary:?}");
    let scored: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT profile_id FROM crm_scores WHERE profile_id = ANY($1) ORDER BY profile_id",
    )
    .bind(&ids)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(scored, [ids[0], ids[1], ids[3], ids[4]]);
    // Nothing half-written for the failing one: no history either.
    let history: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_score_history WHERE profile_id = $1")
            .bind(ids[2])
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(history, 0);
    app.stop().await;
}
