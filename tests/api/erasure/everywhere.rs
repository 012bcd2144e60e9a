//! After erasing a person the CRM and clienteling know, nothing personal is readable anywhere: not in any
//! table, not through the API (profile, client, interaction and its history), not at the messaging stand-in.

use concierge::crm::erasure;
use concierge::integrations::messaging::MessagingClient;
use concierge::types::ReceiptStatus;
use reqwest::Method;
use serde_json::Value;

use super::support::{EMAIL, NEEDLES, PHONE, person, personal, tables_holding};
use crate::helpers::{TestApp, get_as, send, spawn_sandboxed_app};

/// The steps a privacy request runs, in its order: the targets read (and kept by the request) first, then
/// the CRM, clienteling and the messaging service; `targets` given: a later run reusing what was kept.
async fn erase(
    app: &TestApp,
    brand_id: uuid::Uuid,
    profile_id: uuid::Uuid,
    targets: Option<erasure::Targets>,
) -> (Vec<ReceiptStatus>, erasure::Targets) {
    let targets = match targets {
        Some(targets) => targets,
        None => erasure::targets(&app.db, brand_id, profile_id)
            .await
            .unwrap()
            .expect("the brand's profile"),
    };
    let crm = erasure::erase_profile(&app.db, brand_id, profile_id, "admin:test")
        .await
        .unwrap()
        .expect("erased");
    let (clienteling, _) = concierge::clienteling::erasure::erase_clients(
        &app.state.clienteling,
        &app.state.settings.jobs,
        brand_id,
        &targets.profiles,
    )
    .await
    .unwrap();
    let messaging = MessagingClient::new(&app.state.settings.providers).unwrap();
    let addresses: Vec<String> = targets
        .emails
        .iter()
        .chain(&targets.phones)
        .cloned()
        .collect();
    let forgotten = concierge::crm::messages::erasure::forget_addresses(&messaging, &addresses)
        .await
        .unwrap();
    let mut statuses = vec![crm.receipt.status, clienteling.status];
    statuses.extend(forgotten.iter().map(|r| r.status));
    (statuses, targets)
}

#[tokio::test]
async fn an_erased_person_leaves_nothing_personal_in_any_table_endpoint_or_stand_in() {
    let app = spawn_sandboxed_app().await;
    let person = person(&app).await;
    let before = tables_holding(&app, &NEEDLES).await;
    for table in [
        "public.crm_profiles",
        "public.crm_identifiers",
        "public.crm_activities",
        "public.crm_merges",
        "public.crm_messages",
        "public.clienteling_clients",
        "public.clienteling_interaction_events",
        "public.clienteling_interactions",
        "public.clienteling_tasks",
        "public.clienteling_appointments",
    ] {
        assert!(
            before
                .iter()
                .any(|found| found.starts_with(&format!("{table} "))),
            "the arrangement reaches {table}: {before:#?}"
        );
    }
    let targets = erasure::targets(&app.db, person.brand_id, person.profile_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        targets.profiles.len(),
        2,
        "the survivor and the profile merged into it"
    );
    assert_eq!(targets.emails, [EMAIL]);
    assert_eq!(targets.phones, [PHONE]);

    let (statuses, kept) = erase(&app, person.brand_id, person.profile_id, None).await;
    use ReceiptStatus::{AlreadyDone, Done};
    assert_eq!(
        statuses,
        [Done, Done, Done, AlreadyDone],
        "crm, clienteling, the email messaged, the phone never messaged"
    );

    let left = tables_holding(&app, &NEEDLES).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");
    // The stand-in: every stored message lost its address and body.
    let stored: Value = app
        .sandbox()
        .control(Method::GET, "messaging/messages")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!stored.as_array().unwrap().is_empty());
    assert_eq!(
        personal(&stored.to_string()),
        Vec::<&str>::new(),
        "{stored}"
    );

    // Through the API: the profile, the client, the interaction and its history.
    let reads = [
        (
            &person.marketer,
            format!("/api/v1/brands/maison/crm/profiles/{}", person.profile_id),
        ),
        (
            &person.marketer,
            format!(
                "/api/v1/brands/maison/crm/profiles/{}/activities",
                person.profile_id
            ),
        ),
        (
            &person.marketer,
            format!(
                "/api/v1/brands/maison/crm/profiles/{}/consents/history",
                person.profile_id
            ),
        ),
        (
            &person.marketer,
            format!("/api/v1/brands/maison/crm/merges/{}", person.merge_id),
        ),
        (
            &person.advisor,
            format!(
                "/api/v1/brands/maison/clienteling/clients/{}",
                person.profile_id
            ),
        ),
        (
            &person.advisor,
            format!(
                "/api/v1/brands/maison/clienteling/interactions/{}",
                person.interaction
            ),
        ),
        (
            &person.advisor,
            format!(
                "/api/v1/brands/maison/clienteling/interactions/{}/history",
                person.interaction
            ),
        ),
        (
            &person.advisor,
            format!(
                "/api/v1/brands/maison/clienteling/clients/{}/interactions",
                person.profile_id
            ),
        ),
        (
            &person.advisor,
            "/api/v1/brands/maison/clienteling/tasks".to_owned(),
        ),
    ];
    for (token, path) in reads {
        let response = get_as(&app, token, &path).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        assert_eq!(personal(&body), Vec::<&str>::new(), "{path}: {body}");
    }
    // The stream's history is whole: every version kept, the redaction appended last; its replay is the
    // interaction as shown.
    let history: Value = get_as(
        &app,
        &person.advisor,
        &format!(
            "/api/v1/brands/maison/clienteling/interactions/{}/history",
            person.interaction
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let events = history["items"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"redacted"), "{kinds:?}");
    let versions: Vec<i64> = events
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
    let shown: Value = get_as(
        &app,
        &person.advisor,
        &format!(
            "/api/v1/brands/maison/clienteling/interactions/{}",
            person.interaction
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shown["version"], versions.len());
    assert!(
        shown["subject"].is_null() && shown["note"].is_null(),
        "{shown}"
    );

    // The merge over the erased person cannot be undone: its snapshots hold nothing to restore.
    let unmerge = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        &format!(
            "/api/v1/brands/maison/crm/merges/{}/unmerge",
            person.merge_id
        ),
        Some(serde_json::json!({ "dry_run": false })),
    )
    .await;
    assert_eq!(unmerge.status(), 409);
    assert_eq!(
        crate::helpers::problem(unmerge).await["code"],
        "unmerge-blocked"
    );

    // A second run (after a crash, a retried step) finds everything done.
    let (again, _) = erase(&app, person.brand_id, person.profile_id, Some(kept)).await;
    assert_eq!(again, [ReceiptStatus::AlreadyDone; 4]);
    assert!(tables_holding(&app, &NEEDLES).await.is_empty());
}

#[tokio::test]
async fn erasure_is_per_brand_and_per_person() {
    let app = spawn_sandboxed_app().await;
    let person = person(&app).await;
    let atelier = concierge::brands::find(&app.db, "atelier")
        .await
        .unwrap()
        .unwrap();
    // Another brand's id for this profile: not found there, nothing changes.
    assert!(
        erasure::erase_profile(&app.db, atelier.id, person.profile_id, "admin:test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        erasure::targets(&app.db, atelier.id, person.profile_id)
            .await
            .unwrap()
            .is_none()
    );
    let (receipt, counts) = concierge::clienteling::erasure::erase_clients(
        &app.state.clienteling,
        &app.state.settings.jobs,
        atelier.id,
        &[person.profile_id],
    )
    .await
    .unwrap();
    assert_eq!(receipt.status, ReceiptStatus::AlreadyDone);
    assert_eq!(counts, Default::default());
    assert!(
        !tables_holding(&app, &NEEDLES).await.is_empty(),
        "maison's person untouched"
    );

    // Someone else in the same brand keeps everything.
    let other = super::support::events(
        &app,
        &person.marketer,
        &serde_json::json!([{"id": "other-1", "type": "signup", "occurred_at": "2026-11-01T10:00:00Z",
            "identifiers": [{"kind": "email", "value": "bruno@example.com"}],
            "traits": {"first_name": "Bruno"}}]),
    )
    .await;
    let bruno: uuid::Uuid = other["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    erase(&app, person.brand_id, person.profile_id, None).await;
    let name: Option<String> =
        sqlx::query_scalar("SELECT first_name FROM crm_profiles WHERE id = $1")
            .bind(bruno)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(name.as_deref(), Some("Bruno"));
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE profile_id = $1")
            .bind(bruno)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(held, 1);
}
