//! The walk-through, over HTTP only: a marketer ingests events for two identities, an event naming
//! both merges them, the merged timeline holds everything, and the unmerge gives both profiles back.

use serde_json::{Value, json};

use super::{ingest, profile_of};
use crate::helpers::{TestApp, get_json_as, marketer_token, spawn_app};

fn event(id: &str, at: &str, identifiers: Value) -> Value {
    json!({"id": id, "type": "page_view", "occurred_at": at, "identifiers": identifiers,
           "properties": {"url": format!("https://maison.example/{id}")}})
}

async fn profile(app: &TestApp, token: &str, id: &str) -> Value {
    get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/profiles/{id}"),
    )
    .await
}

async fn timeline_ids(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let page = get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/profiles/{id}/activities"),
    )
    .await;
    let mut urls: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["properties"]["url"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    urls
}

#[tokio::test]
async fn two_identities_merge_on_an_event_naming_both_and_unmerge_gives_both_back() {
    let app = spawn_app().await;
    let marketer = marketer_token(&app, "marketer@maison.example", "maison").await;
    let email = json!({"kind": "email", "value": "jane@example.com"});
    let member = json!({"kind": "scl_member", "value": "1042"});

    let first = ingest(
        &app,
        &marketer,
        "maison",
        &json!([event("e1", "2026-11-01T10:00:00Z", json!([email])),]),
    )
    .await;
    let second = ingest(
        &app,
        &marketer,
        "maison",
        &json!([event("e2", "2026-11-02T10:00:00Z", json!([member])),]),
    )
    .await;
    let (jane, member_profile) = (profile_of(&first, 0), profile_of(&second, 0));
    assert_ne!(jane, member_profile);
    let jane_before = profile(&app, &marketer, &jane).await;
    let member_before = profile(&app, &marketer, &member_profile).await;

    let both = ingest(
        &app,
        &marketer,
        "maison",
        &json!([event("e3", "2026-11-03T10:00:00Z", json!([email, member])),]),
    )
    .await;
    let result = &both["results"][0];
    assert_eq!(result["resolution"], "merged", "{both}");
    assert_eq!(
        result["profile_id"],
        jane.as_str(),
        "the oldest profile survives"
    );
    let merge_id = result["merge_id"]
        .as_str()
        .expect("the merge is named")
        .to_owned();

    // The absorbed id answers with the survivor, whose timeline holds all three events.
    let merged = profile(&app, &marketer, &member_profile).await;
    assert_eq!(merged["id"], jane.as_str());
    let urls = timeline_ids(&app, &marketer, &member_profile).await;
    assert_eq!(urls.len(), 3, "{urls:?}");
    let ledger = get_json_as(
        &app,
        &marketer,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}"),
    )
    .await;
    assert_eq!(ledger["id"], merge_id.as_str());

    let unmerged = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/merges/{merge_id}/unmerge"
        )))
        .bearer_auth(&marketer)
        .json(&json!({"dry_run": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(unmerged.status(), 200, "{}", unmerged.text().await.unwrap());

    // The absorbed profile is back exactly; the survivor keeps only what arrived after the merge (e3). Its
    // scores, dropped by the merge, are computed again by the unmerge: the same values, computed now.
    let without_times = |mut view: Value| {
        for score in ["engagement", "churn_risk"] {
            if let Some(score) = view["scores"][score].as_object_mut() {
                score.remove("computed_at");
            }
        }
        view
    };
    let member_after = profile(&app, &marketer, &member_profile).await;
    assert!(
        member_after["scores"]["engagement"].is_object(),
        "{member_after}"
    );
    assert_eq!(without_times(member_after), without_times(member_before));
    assert_eq!(
        timeline_ids(&app, &marketer, &member_profile).await,
        ["https://maison.example/e2"]
    );
    let jane_after = profile(&app, &marketer, &jane).await;
    assert_eq!(jane_after["identifiers"], jane_before["identifiers"]);
    assert_eq!(jane_after["attributes"], jane_before["attributes"]);
    assert_eq!(
        timeline_ids(&app, &marketer, &jane).await,
        ["https://maison.example/e1", "https://maison.example/e3"]
    );
}
