//! Concurrent resolves and merges over the same profiles.

use std::collections::BTreeSet;

use serde_json::json;
use uuid::Uuid;

use super::support::{id, merge, profile, resolve};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn twenty_concurrent_resolves_of_the_same_new_identifiers_make_one_profile() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let requests = (0..20).map(|n| {
        let (app, token) = (&app, &token);
        async move {
            let order = if n % 2 == 0 {
                ["email:new@example.com", "scl_member:5"]
            } else {
                ["scl_member:5", "email:new@example.com"]
            };
            resolve(app, token, "maison", &order, json!({})).await
        }
    });
    let answers = futures::future::join_all(requests).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == 201 || *status == 200)
    );
    let ids: BTreeSet<Uuid> = answers.iter().map(|(_, body)| id(body)).collect();
    assert_eq!(ids.len(), 1);
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 1);
}

#[tokio::test]
async fn concurrent_merges_and_resolves_over_the_same_profiles_serialise_and_lose_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            profile(
                &app,
                &token,
                "maison",
                &format!("email:p{n}@example.com"),
                json!({}),
            )
            .await,
        );
    }
    let merges = [
        (ids[0], vec![ids[1], ids[2]]),
        (ids[3], vec![ids[2]]),
        (ids[1], vec![ids[3]]),
    ];
    let merging = merges.iter().map(|(survivor, absorbed)| {
        let (app, token) = (&app, &token);
        async move { merge(app, token, *survivor, absorbed, false).await }
    });
    let resolving = (0..20).map(|n| {
        let (app, token) = (&app, &token);
        async move {
            let known = format!("email:p{}@example.com", n % 4);
            // A kind of its own each, so that no per-kind limit refuses any of them.
            let fresh = format!("src{n}:c{n}");
            resolve(app, token, "maison", &[&known, &fresh], json!({})).await
        }
    });
    let (merged, resolved) = futures::future::join(
        futures::future::join_all(merging),
        futures::future::join_all(resolving),
    )
    .await;
    for (status, body) in &merged {
        assert!(*status == 201 || *status == 409, "{status} {body}");
    }
    assert!(merged.iter().any(|(status, _)| *status == 201));
    for (status, body) in &resolved {
        assert_eq!(*status, 200, "{body}");
    }

    // Nothing is left on a merged-away profile, and every identifier ever given is somewhere live.
    let orphaned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_identifiers i JOIN crm_profiles p ON p.id = i.profile_id WHERE p.merged_into IS NOT NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(orphaned, 0);
    let identifiers: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_identifiers")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(identifiers, 24);
    // Each resolve landed on the live profile its known identifier now belongs to.
    for (n, (_, body)) in resolved.iter().enumerate() {
        let owner: (Uuid, Option<Uuid>) = sqlx::query_as(
            "SELECT p.id, p.merged_into FROM crm_identifiers i JOIN crm_profiles p ON p.id = i.profile_id
             WHERE i.kind = $1 AND i.value = $2",
        )
        .bind(format!("src{n}"))
        .bind(format!("c{n}"))
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(owner.1, None);
        let current: Uuid = sqlx::query_scalar(
            "SELECT profile_id FROM crm_identifiers WHERE kind = 'email' AND value = $1",
        )
        .bind(format!("p{}@example.com", n % 4))
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(owner.0, current, "{body}");
    }
    // The ledgers add up: every merge that stands absorbed live-at-the-time profiles exactly once.
    let absorbed: Vec<Uuid> = sqlx::query_scalar("SELECT unnest(absorbed_ids) FROM crm_merges")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let distinct: BTreeSet<_> = absorbed.iter().collect();
    assert_eq!(distinct.len(), absorbed.len(), "no profile absorbed twice");
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_profiles WHERE merged_into IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(dead as usize, absorbed.len());
}

/// An unmerge gives the absorbed profile its identifiers back without merging anything: a resolve of one of
/// them that read the owners while the unmerge was under way must not land on the former survivor once the
/// unmerge commits.
#[tokio::test]
async fn a_resolve_during_an_unmerge_lands_on_the_restored_profile() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(&app, &token, "maison", "email:a@example.com", json!({})).await;
    let b = profile(&app, &token, "maison", "email:b@example.com", json!({})).await;
    let (status, merged) = merge(&app, &token, b, &[a], false).await;
    assert_eq!(status, 201, "{merged}");
    let merge_id: Uuid = merged["merge"]["id"].as_str().unwrap().parse().unwrap();
    let brand_id: Uuid = sqlx::query_scalar("SELECT id FROM brands WHERE slug = 'maison'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // The unmerge runs, and has not committed yet …
    let mut tx = app.db.begin().await.unwrap();
    concierge::crm::unmerge::unmerge(&mut tx, brand_id, merge_id, "user:test")
        .await
        .unwrap();
    // … when a's email is resolved.
    let committing = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        tx.commit().await.unwrap();
    };
    let ((status, body), ()) = tokio::join!(
        resolve(&app, &token, "maison", &["email:a@example.com"], json!({})),
        committing
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(id(&body), a, "a's email is a's again: {body}");
    assert_eq!(body["outcome"]["kind"], "matched");
}
