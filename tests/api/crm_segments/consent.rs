//! A consent change through the consent API re-evaluates the profile's segments and scores at once, with the
//! hooks events use, inside the change's transaction: it commits with them or not at all.

use std::sync::Arc;

use concierge::crm::events::{AfterEvent, Touched};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{brand_id, create, get, members};
use crate::helpers::{TestApp, marketer_token, spawn_app};

async fn put_consent(app: &TestApp, token: &str, profile: Uuid, status: &str) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{profile}/consents/email/marketing"
        )))
        .bearer_auth(token)
        .json(&json!({"status": status, "source": "preference_center"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Jane, with one page view (her scores exist).
async fn jane(app: &TestApp, token: &str) -> Uuid {
    let (status, answer) = super::post(
        app,
        token,
        "/api/v1/brands/maison/crm/events",
        &json!([{"id": "pv-1", "type": "page_view", "occurred_at": chrono::Utc::now().to_rfc3339(),
                 "identifiers": [{"kind": "email", "value": "jane@example.com"}],
                 "properties": {"url": "https://maison.example/"}}]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn history(app: &TestApp, token: &str, segment: &str) -> Vec<(String, String)> {
    let (_, page) = get(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/segments/{segment}/history"),
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn churn_causes(app: &TestApp, profile: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT cause FROM crm_score_history WHERE profile_id = $1 AND score = 'churn_risk' ORDER BY id",
    )
    .bind(profile)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_consent_change_moves_the_profile_in_and_out_and_rescores_it_at_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let emailable = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "emailable", "name": "Emailable",
            "rule": {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Depends on traits only: a consent change does not re-evaluate it (Jane would match it).
    let untiered = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "untiered", "name": "No tier", "rule": {"attribute": "tier", "op": "missing"}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Names `emailable`: follows it in the same change.
    let nested = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "emailable-too", "name": "Emailable (nested)",
            "rule": {"segment": "emailable", "is": "member"}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Over a score: follows the rescoring the consent change makes.
    let risky = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "risky", "name": "Some churn risk",
            "rule": {"score": "churn_risk", "op": "gte", "value": 10}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = jane(&app, &token).await;
    assert!(members(&app, &emailable).await.is_empty());
    assert!(members(&app, &risky).await.is_empty());

    let (status, body) = put_consent(&app, &token, jane, "granted").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(members(&app, &emailable).await, vec![jane], "in at once");
    assert_eq!(members(&app, &nested).await, vec![jane]);
    assert!(members(&app, &untiered).await.is_empty());
    assert_eq!(
        history(&app, &token, &emailable).await,
        [("entered".to_owned(), "consent".to_owned())]
    );
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.segment.membership.changed' AND aggregate_id = $1",
    )
    .bind(&emailable)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(payload["entered"], json!([jane]));
    assert_eq!(payload["reason"], "consent");

    // The same consent again changes nothing: no re-evaluation, no history.
    let (status, _) = put_consent(&app, &token, jane, "granted").await;
    assert_eq!(status, 200);
    assert_eq!(history(&app, &token, &emailable).await.len(), 1);

    // An opt-out: out of both at once, and churn risk takes the opt-out in without waiting for the night.
    let (status, _) = put_consent(&app, &token, jane, "denied").await;
    assert_eq!(status, 200);
    assert!(members(&app, &emailable).await.is_empty());
    assert!(members(&app, &nested).await.is_empty());
    assert_eq!(
        history(&app, &token, &emailable).await[0],
        ("exited".to_owned(), "consent".to_owned())
    );
    assert_eq!(churn_causes(&app, jane).await.last().unwrap(), "consent");
    assert_eq!(
        members(&app, &risky).await,
        vec![jane],
        "the opt-out's 10 points"
    );
    assert_eq!(
        history(&app, &token, &risky).await,
        [("entered".to_owned(), "consent".to_owned())]
    );
    let scores = crate::crm_scores::scores_of(&app, &token, &jane.to_string()).await;
    let reasons = crate::crm_scores::reasons(&scores["churn_risk"]);
    assert!(
        reasons
            .iter()
            .any(|(factor, value, _)| factor == "opt_outs_recent" && *value == 1.0),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_consent_change_reaches_only_its_brands_segments() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let other = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs = create(
        &app,
        &other,
        "atelier",
        &json!({
            "slug": "emailable", "name": "Emailable",
            "rule": {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = jane(&app, &token).await;
    // Atelier's marketer cannot change a maison profile's consent …
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/brands/atelier/crm/profiles/{jane}/consents/email/marketing"
        )))
        .bearer_auth(&other)
        .json(&json!({"status": "granted", "source": "preference_center"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // … and maison's change does not move anyone into atelier's segment.
    let (status, _) = put_consent(&app, &token, jane, "granted").await;
    assert_eq!(status, 200);
    assert!(members(&app, &theirs).await.is_empty());
    let atelier = brand_id(&app, "atelier").await;
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_segment_history WHERE brand_id = $1")
            .bind(atelier)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(rows, 0);
}

/// Refuses every consent change.
struct RefuseConsent;

impl AfterEvent for RefuseConsent {
    fn name(&self) -> &'static str {
        "refuse-consent"
    }

    fn after_profiles<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        let refuse = touched.iter().any(|t| t.consent_changed);
        Box::pin(async move {
            anyhow::ensure!(!refuse, "refused");
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_failing_reevaluation_undoes_the_consent_change() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let emailable = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "emailable", "name": "Emailable",
            "rule": {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = jane(&app, &token).await;
    app.state.crm.hooks().register(Arc::new(RefuseConsent));
    let (status, body) = put_consent(&app, &token, jane, "granted").await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.to_string().contains("refused"), "{body}");
    // Nothing of it stands: not the consent, its history, the membership the segments hook wrote before
    // the failing hook ran, nor the outbox events.
    let consents: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM crm_consents WHERE profile_id = $1)
              + (SELECT count(*) FROM crm_consent_history WHERE profile_id = $1)",
    )
    .bind(jane)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(consents, 0);
    assert!(members(&app, &emailable).await.is_empty());
    let outbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_events WHERE topic IN ('crm.consent.changed', 'crm.segment.membership.changed')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(outbox, 0);
    assert_eq!(churn_causes(&app, jane).await, ["event"]);
}
