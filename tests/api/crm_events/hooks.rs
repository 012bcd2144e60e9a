//! The after-event hook: it sees each applied event inside its transaction, each profile a batch touched once
//! with its events, and a failing hook undoes its event(s) alone.

use std::sync::{Arc, Mutex};

use concierge::crm::events::{AfterEvent, AppliedEvent, Touched};
use futures::future::BoxFuture;
use serde_json::json;
use sqlx::PgConnection;

use super::{activity_count, ingest, page_view, profile_of, statuses};
use crate::helpers::{marketer_token, spawn_app};

/// Records what it saw, writes a row of its own in the event's transaction, and fails on `"fail": true`.
struct Recorder {
    seen: Arc<Mutex<Vec<AppliedEvent>>>,
}

impl AfterEvent for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn after_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a AppliedEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO hook_marks (event_id) VALUES ($1)")
                .bind(&event.event_id)
                .execute(&mut *conn)
                .await?;
            // The hook sees the event's writes: its activity is there.
            let found: i64 =
                sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE id = $1")
                    .bind(event.activity_id)
                    .fetch_one(&mut *conn)
                    .await?;
            anyhow::ensure!(found == 1, "the activity is not visible to the hook");
            self.seen.lock().unwrap().push(event.clone());
            anyhow::ensure!(
                event.properties.get("fail") != Some(&json!(true)),
                "asked to fail"
            );
            Ok(())
        })
    }
}

async fn marks(app: &crate::helpers::TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT event_id FROM hook_marks ORDER BY event_id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hook_sees_each_applied_event_and_a_failing_hook_rolls_its_event_back() {
    let app = spawn_app().await;
    sqlx::query("CREATE TABLE hook_marks (event_id text PRIMARY KEY)")
        .execute(&app.db)
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    app.state
        .crm
        .hooks()
        .register(Arc::new(Recorder { seen: seen.clone() }));
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let failing = json!({"id": "h-2", "type": "store_visit", "occurred_at": "2026-10-02T10:00:00Z",
                         "identifiers": [{"kind": "email", "value": "newcomer@example.com"}],
                         "traits": {"first_name": "New"}, "properties": {"fail": true}});
    let batch = json!([
        page_view("h-1", "jane@example.com", "2026-10-01T10:00:00Z"),
        failing,
        page_view("h-3", "jane@example.com", "2026-10-03T10:00:00Z"),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&answer), ["accepted", "failed", "accepted"]);
    assert_eq!(answer["failed"], 1);
    let detail = answer["results"][1]["detail"].as_str().unwrap();
    // The sender learns which hook refused, never the hook's own error (it may quote the database).
    assert!(
        detail.contains("recorder") && !detail.contains("asked to fail"),
        "{detail}"
    );
    let jane = profile_of(&answer, 0);
    let first_round = {
        let seen = seen.lock().unwrap();
        let applied: Vec<&str> = seen.iter().map(|event| event.event_id.as_str()).collect();
        // The batch's first attempt (without savepoints) ran the hooks once at its end, per profile (Jane's
        // h-1 and h-3, then the newcomer's h-2, which failed); the guarded one ran them per event.
        assert_eq!(
            applied[applied.len() - 3..],
            ["h-1", "h-2", "h-3"],
            "{applied:?}"
        );
        let last = &seen[seen.len() - 3..];
        assert_eq!(last[0].profile_id.to_string(), jane);
        assert_eq!(last[0].kind, "page_view");
        assert_eq!(
            last[0].resolution,
            concierge::crm::resolve::OutcomeKind::Created
        );
        assert_eq!(
            last[2].resolution,
            concierge::crm::resolve::OutcomeKind::Matched
        );
        seen.len()
    };
    // The failed event left nothing: not its hook's row, its activity, its profile or its identifier.
    assert_eq!(marks(&app).await, ["h-1", "h-3"]);
    assert_eq!(activity_count(&app, &jane).await, 2);
    let newcomer: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_identifiers WHERE value = 'newcomer@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(newcomer, 0);
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 1);

    // Its id was not used: sent again (and let through), it is applied; the others are duplicates and the
    // hook does not see them again.
    let retry = json!([
        page_view("h-1", "jane@example.com", "2026-10-01T10:00:00Z"),
        {"id": "h-2", "type": "store_visit", "occurred_at": "2026-10-02T10:00:00Z",
         "identifiers": [{"kind": "email", "value": "newcomer@example.com"}], "properties": {}},
    ]);
    let answer = ingest(&app, &token, "maison", &retry).await;
    assert_eq!(statuses(&answer), ["duplicate", "accepted"]);
    assert_eq!(marks(&app).await, ["h-1", "h-2", "h-3"]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), first_round + 1, "only h-2 was applied again");
    assert_eq!(seen[first_round].event_id, "h-2");
}

/// What one `after_profiles` call was handed: (profile, its event ids), in order.
type Call = Vec<(String, Vec<String>)>;

/// Records each call; fails every call holding a profile identified by `refused@example.com`, after
/// checking that the batch's activities of each profile are visible.
struct Grouped {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl AfterEvent for Grouped {
    fn name(&self) -> &'static str {
        "grouped"
    }

    fn after_profiles<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let call: Call = touched
                .iter()
                .map(|t| {
                    let ids = t.events.iter().map(|e| e.event_id.clone()).collect();
                    (t.profile_id.to_string(), ids)
                })
                .collect();
            self.calls.lock().unwrap().push(call);
            for profile in touched {
                let ids: Vec<uuid::Uuid> = profile.events.iter().map(|e| e.activity_id).collect();
                let found: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM crm_activities WHERE id = ANY($1) AND profile_id = $2",
                )
                .bind(&ids)
                .bind(profile.profile_id)
                .fetch_one(&mut *conn)
                .await?;
                anyhow::ensure!(found == ids.len() as i64, "an activity is not visible");
                let refused: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM crm_identifiers
                                    WHERE profile_id = $1 AND value = 'refused@example.com')",
                )
                .bind(profile.profile_id)
                .fetch_one(&mut *conn)
                .await?;
                anyhow::ensure!(!refused, "refused profile");
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_batch_hands_each_touched_profile_to_the_hooks_once_with_its_events_in_order() {
    let app = spawn_app().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    app.state.crm.hooks().register(Arc::new(Grouped {
        calls: calls.clone(),
    }));
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        page_view("g-1", "jane@example.com", "2026-10-01T10:00:00Z"),
        page_view("g-2", "bob@example.com", "2026-10-01T11:00:00Z"),
        page_view("g-3", "jane@example.com", "2026-10-01T12:00:00Z"),
        page_view("g-4", "jane@example.com", "2026-10-01T13:00:00Z"),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&answer), ["accepted"; 4]);
    let (jane, bob) = (profile_of(&answer, 0), profile_of(&answer, 1));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [vec![
            (jane.clone(), vec!["g-1".into(), "g-3".into(), "g-4".into()]),
            (bob.clone(), vec!["g-2".into()]),
        ]],
        "one call for the batch, each profile once, in the order of its first event"
    );
    // The built-in hooks ran once per profile too: one score computation each (a history row per
    // score on the first computation).
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_score_history WHERE profile_id::text = $1 AND score = 'engagement'",
    )
    .bind(&jane)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(history, 1);
}

#[tokio::test]
async fn a_hook_failing_on_a_profile_fails_that_profiles_events_and_only_those() {
    let app = spawn_app().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    app.state.crm.hooks().register(Arc::new(Grouped {
        calls: calls.clone(),
    }));
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        page_view("f-1", "jane@example.com", "2026-10-01T10:00:00Z"),
        page_view("f-2", "refused@example.com", "2026-10-01T11:00:00Z"),
        page_view("f-3", "jane@example.com", "2026-10-01T12:00:00Z"),
        page_view("f-4", "refused@example.com", "2026-10-01T13:00:00Z"),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(
        statuses(&answer),
        ["accepted", "failed", "accepted", "failed"]
    );
    for index in [1, 3] {
        let detail = answer["results"][index]["detail"].as_str().unwrap();
        assert!(
            detail.contains("grouped") && !detail.contains("refused"),
            "{detail}"
        );
    }
    let jane = profile_of(&answer, 0);
    assert_eq!(activity_count(&app, &jane).await, 2);
    let calls = calls.lock().unwrap().clone();
    // The first attempt's one call (both profiles) failed; the guarded attempt handed each event alone.
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert_eq!(calls[0].len(), 2, "{calls:?}");
    let alone: Vec<Vec<String>> = calls[1..]
        .iter()
        .map(|call| {
            assert_eq!(call.len(), 1, "{calls:?}");
            call[0].1.clone()
        })
        .collect();
    assert_eq!(alone, [["f-1"], ["f-2"], ["f-3"], ["f-4"]]);
    // Nothing of the refused profile stands: no identifier, no profile, no activity, no score.
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM crm_identifiers WHERE value = 'refused@example.com')
              + (SELECT count(*) FROM crm_activities WHERE event_id IN ('f-2', 'f-4'))
              + (SELECT count(*) FROM crm_profiles) - 1
              + (SELECT count(*) FROM crm_scores WHERE profile_id::text <> $1)",
    )
    .bind(&jane)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(left, 0);
}
