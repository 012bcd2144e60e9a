//! atk13's review of campaigns: what a merge, a replay or hostile input does to a running campaign. Each
//! test was written failing, before its fix.

use concierge::crm::campaigns::RunEnd;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::helpers::Sandboxed;

/// Merges `absorbed` into `survivor` (maison).
async fn merge(app: &TestApp, token: &str, survivor: Uuid, absorbed: &[Uuid]) {
    let response = post(
        app,
        token,
        "/api/v1/brands/maison/crm/merges",
        &json!({ "survivor_id": survivor, "absorbed_ids": absorbed, "dry_run": false }),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

async fn sent_to(app: &TestApp, phones: &[String]) -> usize {
    let mut total = 0;
    for phone in phones {
        total += app.sandbox().messages_to(phone).await.len();
    }
    total
}

#[tokio::test]
async fn two_recipients_merged_after_the_freeze_get_one_message() {
    let (app, token) = app().await;
    let absorbed = reachable(&app, &token, 61).await;
    let survivor = reachable(&app, &token, 62).await;
    let (maison, id) = frozen(&app, &token, &[absorbed, survivor], json!({})).await;
    merge(&app, &token, survivor, &[absorbed]).await;

    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);

    assert_eq!(
        sent_to(&app, &[phone(61), phone(62)]).await,
        1,
        "one person, one message"
    );
    let mut statuses: Vec<(String, Option<String>)> = recipients(&app, &token, id, "")
        .await
        .into_iter()
        .map(|(_, status, reason, _)| (status, reason))
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("sent".to_owned(), None),
            ("suppressed".to_owned(), Some("merged".to_owned()))
        ]
    );
    let campaign = get(&app, &token, id).await;
    assert_eq!(
        campaign["counts"]["suppressed_by_reason"]["merged"], 1,
        "{campaign}"
    );
    assert_eq!(campaign["counts"]["sent"], 1, "{campaign}");
}

#[tokio::test]
async fn a_recipient_messaged_before_a_merge_is_not_messaged_again_as_the_other() {
    // One recipient per run: the first is sent before the merge, the second after.
    let (app, token) = app_with(Sandboxed::new().configure(|s| {
        s.crm.campaigns.batch_size = 1;
        s.crm.campaigns.batches_per_run = 1;
    }))
    .await;
    for (first_survives, n) in [(true, 63), (false, 65)] {
        let x = reachable(&app, &token, n).await;
        let y = reachable(&app, &token, n + 1).await;
        let (maison, id) = frozen(&app, &token, &[x, y], json!({})).await;
        let campaigns = handle(&app);
        let end = campaigns::deliver(&campaigns, &maison, id).await.unwrap();
        assert!(matches!(end, RunEnd::Continue(_)), "{end:?}");
        let rows = recipients(&app, &token, id, "&status=sent").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let first = rows[0].0;
        let other = if first == x { y } else { x };
        if first_survives {
            merge(&app, &token, first, &[other]).await;
        } else {
            merge(&app, &token, other, &[first]).await;
        }

        assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);

        assert_eq!(
            sent_to(&app, &[phone(n), phone(n + 1)]).await,
            1,
            "survivor first: {first_survives}"
        );
        let page = recipients(&app, &token, id, "").await;
        let second: Vec<_> = page.iter().filter(|r| r.0 == other).collect();
        assert_eq!(second[0].1, "suppressed", "{page:?}");
        assert_eq!(second[0].2.as_deref(), Some("merged"), "{page:?}");
    }
}

#[tokio::test]
async fn recipients_who_are_not_merged_are_each_sent_as_before() {
    let (app, token) = app().await;
    let members = [
        reachable(&app, &token, 67).await,
        reachable(&app, &token, 68).await,
    ];
    let (maison, id) = frozen(&app, &token, &members, json!({})).await;
    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);
    assert_eq!(sent_to(&app, &[phone(67), phone(68)]).await, 2);
    let campaign: Value = get(&app, &token, id).await;
    assert_eq!(campaign["counts"]["sent"], 2, "{campaign}");
}
