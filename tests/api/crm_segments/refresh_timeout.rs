//! A full refresh runs under its own statement timeout (`crm.segments.refresh_timeout_ms`): beyond it the
//! answer is a 503 problem and nothing of the refresh is written.

use serde_json::json;

use super::{brand_id, create, members, post, profile};
use crate::helpers::{TestOptions, marketer_token, spawn_app_with};

#[tokio::test]
async fn a_refresh_over_its_budget_is_a_503_and_writes_nothing() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| settings.crm.segments.refresh_timeout_ms = 300),
        ..Default::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let gold = profile(&app, maison, json!({"tier": "gold"})).await;
    let segment = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/brands/maison/crm/segments/{segment}/refresh");
    // Another refresh of the segment holds its lock (as a long one would): this one waits past its budget.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 12))")
        .bind(segment.parse::<uuid::Uuid>().unwrap())
        .execute(&mut *holder)
        .await
        .unwrap();
    let (status, body) = post(&app, &token, &path, &json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("/segment-refresh-timeout"),
        "{body}"
    );
    holder.rollback().await.unwrap();
    assert!(members(&app, &segment).await.is_empty(), "nothing written");

    // Within its budget the same refresh goes through.
    let (status, body) = post(&app, &token, &path, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(members(&app, &segment).await, vec![gold]);
}
