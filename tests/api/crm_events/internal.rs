//! `crm::events::apply_internal`: the CRM's own contexts apply a batch through the events path; an invalid
//! event is reported rejected in its place and the valid ones beside it are applied.

use concierge::crm::events::{EventStatus, apply_internal};
use serde_json::json;

use crate::helpers::{demo_brands, spawn_app};

#[tokio::test]
async fn an_invalid_internal_event_is_rejected_in_place_and_the_others_are_applied() {
    let app = spawn_app().await;
    demo_brands(&app).await;
    let maison = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let event = |id: &str, occurred_at: &str| {
        json!({ "id": id, "type": "page_view", "occurred_at": occurred_at,
                "identifiers": [{ "kind": "email", "value": "internal@example.com" }],
                "properties": { "url": "https://maison.example/bags" } })
    };
    let batch = [
        event("internal-1", "2026-11-01T10:00:00Z"),
        event("internal-2", "not a time"),
        event("internal-3", "2026-11-01T10:05:00Z"),
    ];
    let results = apply_internal(&app.state.crm, &maison, &batch, "test")
        .await
        .unwrap();
    let statuses: Vec<_> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            EventStatus::Accepted,
            EventStatus::Rejected,
            EventStatus::Accepted
        ]
    );
    assert_eq!(results[1].id.as_deref(), Some("internal-2"));
    assert!(!results[1].errors.is_empty());
    // Applied again: the valid ones are duplicates, the invalid one still rejected.
    let again = apply_internal(&app.state.crm, &maison, &batch, "test")
        .await
        .unwrap();
    let statuses: Vec<_> = again.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            EventStatus::Duplicate,
            EventStatus::Rejected,
            EventStatus::Duplicate
        ]
    );
}
