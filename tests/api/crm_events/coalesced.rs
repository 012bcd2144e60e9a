//! Single events share batches (src/crm/events/coalesce.rs): each caller still gets its own result, a
//! resent id is a duplicate whichever batch it lands in, and a full queue answers 503 and changes nothing.

use futures::future::join_all;
use serde_json::{Value, json};

use super::{page_view, send};
use crate::helpers::{TestOptions, marketer_token, spawn_app, spawn_app_with};

#[tokio::test]
async fn single_events_sent_at_once_share_transactions_and_each_gets_its_own_result() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // 100 events, 20 of them sent twice, all at once, each alone in its request.
    let bodies: Vec<Value> = (0..120)
        .map(|n| {
            let n = n % 100;
            json!([page_view(
                &format!("single-{n}"),
                &format!("single{n}@example.com"),
                "2026-10-01T10:00:00Z"
            )])
        })
        .collect();
    let answers = join_all(bodies.iter().map(|body| send(&app, &token, "maison", body))).await;
    let mut accepted = std::collections::HashMap::<String, usize>::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{answer}");
        assert_eq!(
            results[0]["index"], 0,
            "each caller sent a batch of one: {answer}"
        );
        let id = results[0]["id"].as_str().unwrap().to_owned();
        match results[0]["status"].as_str().unwrap() {
            "accepted" => *accepted.entry(id).or_default() += 1,
            "duplicate" => {
                assert_eq!(answer["duplicates"], 1);
                accepted.entry(id).or_default();
            }
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(accepted.len(), 100);
    assert!(accepted.values().all(|&n| n == 1), "{accepted:?}");
    let (activities, transactions): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT xmin::text) FROM crm_activities WHERE event_id LIKE 'single-%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(activities, 100);
    assert!(
        transactions < 100,
        "the 100 events should have shared transactions, they took {transactions}"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_and_writes_nothing_for_it() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| {
            settings.crm.ingest.coalesce_queue = 1;
            settings.crm.ingest.coalesce_workers = 1;
            settings.crm.ingest.coalesce_max_batch = 1;
        }),
        ..TestOptions::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let bodies: Vec<Value> = (0..60)
        .map(|n| {
            json!([page_view(
                &format!("busy-{n}"),
                &format!("busy{n}@example.com"),
                "2026-10-01T10:00:00Z"
            )])
        })
        .collect();
    let responses = join_all(bodies.iter().map(|body| {
        app.client
            .post(app.url("/api/v1/brands/maison/crm/events"))
            .bearer_auth(&token)
            .json(body)
            .send()
    }))
    .await;
    let (mut ok, mut busy) = (0, 0);
    for response in responses {
        let response = response.unwrap();
        match response.status().as_u16() {
            200 => ok += 1,
            503 => {
                busy += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["status"], 503, "{problem}");
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        busy > 0,
        "60 events at once into a queue of one: some must be refused"
    );
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE event_id LIKE 'busy-%'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(written, ok, "a refused event left nothing behind");
}

#[tokio::test]
async fn a_batch_failing_whole_behind_one_callers_lock_is_applied_again_event_by_event() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| {
            settings.crm.ingest.coalesce_workers = 1;
            settings.database.statement_timeout_ms = 1500;
        }),
        ..TestOptions::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand: uuid::Uuid = sqlx::query_scalar("SELECT id FROM brands WHERE slug = 'maison'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Another transaction holds the identifier locks of two emails (a merge, a long batch).
    let mut holder = app.db.begin().await.unwrap();
    for email in ["first-held@example.com", "held@example.com"] {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("crm-identifier/{brand}/email/{email}"))
            .execute(&mut *holder)
            .await
            .unwrap();
    }
    let one = |id: &str, email: &str| json!([page_view(id, email, "2026-10-01T10:00:00Z")]);
    // The lane's only worker waits on the first held email while the rest queue up behind it, so the held
    // email and ten strangers' events then form one batch, which times out whole on the second lock.
    let first = one("held-first", "first-held@example.com");
    let busy = send(&app, &token, "maison", &first);
    let rest: Vec<Value> = std::iter::once(one("held", "held@example.com"))
        .chain((0..10).map(|n| {
            one(
                &format!("stranger-{n}"),
                &format!("stranger{n}@example.com"),
            )
        }))
        .collect();
    let later = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        join_all(rest.iter().map(|body| send(&app, &token, "maison", body))).await
    };
    let ((first_status, _), answers) = tokio::join!(busy, later);
    assert_eq!(first_status, 503, "a lock time-out is worth retrying");
    assert_eq!(answers[0].0, 503, "{}", answers[0].1);
    for (status, answer) in &answers[1..] {
        assert_eq!(
            *status, 200,
            "a stranger's event does not fail with the held one: {answer}"
        );
        assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    }
    holder.rollback().await.unwrap();
    let strangers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE event_id LIKE 'stranger-%'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(strangers, 10);
}
