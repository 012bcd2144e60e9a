//! Manual merges: survivorship, consent, activities moved, dry run, bad input.

use serde_json::json;
use uuid::Uuid;

use super::support::{activity, code, consent, everything, fields, get, merge, profile, resolve};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn a_merge_keeps_the_surviving_values_the_strictest_consent_and_moves_everything() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let old = profile(
        &app,
        &token,
        "maison",
        "email:old@example.com",
        json!({"first_name": "Anne", "tier": "gold", "tags": ["vip"]}),
    )
    .await;
    let new = profile(
        &app,
        &token,
        "maison",
        "email:new@example.com",
        json!({"first_name": "Annie", "city": "Paris", "tags": ["paris"]}),
    )
    .await;
    activity(&app, old, "purchase", 30).await;
    activity(&app, new, "purchase", 3).await;
    activity(&app, new, "page_view", 1).await;
    consent(&app, old, "email", "marketing", "denied").await;
    consent(&app, new, "email", "marketing", "granted").await;
    consent(&app, new, "sms", "marketing", "granted").await;

    // The survivor named is kept even when it is the newer one.
    let before = everything(&app).await;
    let (status, dry) = merge(&app, &token, new, &[old], true).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(everything(&app).await, before, "a dry run writes nothing");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["survivor"]["id"], new.to_string());
    assert_eq!(dry["merge"]["activities_moved"]["total"], 1);

    let (status, merged) = merge(&app, &token, new, &[old], false).await;
    assert_eq!(status, 201, "{merged}");
    let survivor = &merged["survivor"];
    assert_eq!(
        survivor["attributes"]["first_name"], "Annie",
        "most recent wins"
    );
    assert_eq!(
        survivor["attributes"]["tier"], "gold",
        "only side with a value"
    );
    assert_eq!(survivor["attributes"]["city"], "Paris");
    assert_eq!(survivor["attributes"]["tags"], json!(["paris", "vip"]));
    assert_eq!(
        survivor["counters"]["activity_counts"],
        json!({"page_view": 1, "purchase": 2})
    );
    assert_eq!(survivor["counters"]["lifetime_value"], "30.3702");
    assert_eq!(
        dry["survivor"]["attributes"], survivor["attributes"],
        "the dry run showed the same result"
    );
    let first_seen: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT (SELECT first_seen_at FROM crm_profiles WHERE id = $1), (SELECT first_seen_at FROM crm_profiles WHERE id = $2)",
    )
    .bind(new)
    .bind(old)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(first_seen.0, first_seen.1, "the oldest first_seen_at");

    let consents: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, status FROM crm_consents WHERE profile_id = $1 ORDER BY channel",
    )
    .bind(new)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        consents,
        [("email".to_owned(), "denied".to_owned())],
        "denied on one side wins; sms unknown on one side → unknown"
    );
    let history: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, status FROM crm_consent_history WHERE profile_id = $1 AND cause = 'merge' ORDER BY channel",
    )
    .bind(new)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        history,
        [
            ("email".to_owned(), "denied".to_owned()),
            ("sms".to_owned(), "unknown".to_owned())
        ]
    );

    let moved: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE profile_id = $1")
            .bind(new)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(moved, 3);
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    let (status, ledger) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ledger["cause"], "manual");
    assert_eq!(ledger["activities_moved"]["total"], 1);
    assert_eq!(
        ledger["activities_moved"]["items"][0]["from_profile_id"],
        old.to_string()
    );
    assert_eq!(
        ledger["identifiers_moved"],
        json!([{"kind": "email", "value": "old@example.com", "from_profile_id": old}])
    );
    let first_name = ledger["attribute_decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["attribute"] == "first_name")
        .unwrap();
    assert_eq!(first_name["chosen"], "Annie");
    assert_eq!(first_name["values"].as_array().unwrap().len(), 2);
    assert!(
        ledger["consent_decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["channel"] == "sms" && d["changed"] == true)
    );
    assert_eq!(
        ledger["snapshots"]["absorbed_before"][0]["profile"]["id"],
        old.to_string()
    );

    // The absorbed id resolves to the survivor; merging it again is a conflict, not a silent no-op.
    let (_, again) = resolve(
        &app,
        &token,
        "maison",
        &["email:old@example.com"],
        json!({}),
    )
    .await;
    assert_eq!(again["profile"]["id"], new.to_string());
    let third = profile(&app, &token, "maison", "email:third@example.com", json!({})).await;
    let (status, conflict) = merge(&app, &token, third, &[old], false).await;
    assert_eq!(status, 409);
    assert_eq!(code(&conflict), "merge-conflict");
}

#[tokio::test]
async fn bad_merge_input_is_a_problem() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(&app, &token, "maison", "email:a@example.com", json!({})).await;
    let b = profile(&app, &token, "maison", "email:b@example.com", json!({})).await;
    let many: Vec<Uuid> = (0..101).map(|_| Uuid::now_v7()).collect();
    for (absorbed, field) in [
        (vec![], "absorbed_ids"),
        (many, "absorbed_ids"),
        (vec![a], "absorbed_ids/0"),
        (vec![b, b], "absorbed_ids/1"),
    ] {
        let (status, problem) = merge(&app, &token, a, &absorbed, false).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(fields(&problem), [field]);
    }
    let (status, problem) = merge(&app, &token, a, &[Uuid::now_v7()], false).await;
    assert_eq!(status, 404);
    assert_eq!(code(&problem), "not-found");
    for body in [
        json!({"survivor_id": "nope", "absorbed_ids": [b]}),
        json!({"survivor_id": a, "absorbed_ids": [b], "force": true}),
        json!({"absorbed_ids": [b]}),
        json!({"survivor_id": a, "absorbed_ids": [b], "dry_run": "yes"}),
    ] {
        let (status, _) = super::support::post(
            &app,
            &token,
            "/api/v1/brands/maison/crm/merges",
            body.clone(),
        )
        .await;
        assert!((400..500).contains(&status), "{body} → {status}");
    }
    let (status, problem) = get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/merges/{}", Uuid::now_v7()),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(code(&problem), "merge-not-found");
    let (status, _) = get(&app, &token, "/api/v1/brands/maison/crm/merges/not-a-uuid").await;
    assert_eq!(status, 400);
    let (status, problem) =
        super::support::unmerge(&app, &token, &Uuid::now_v7().to_string(), false).await;
    assert_eq!(status, 404);
    assert_eq!(code(&problem), "merge-not-found");
    let merges: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_merges")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(merges, 0);
}

/// A purchase may be worth up to 14 digits before the point; the lifetime value is a sum of them (and a
/// merge sums profiles'), so it must hold more than one: two such purchases, or a merge of two such
/// profiles, were a numeric overflow (a 500, or an event `failed` for ever).
#[tokio::test]
async fn lifetime_values_hold_more_than_one_maximal_purchase() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let purchase = |id: &str, email: &str| {
        json!({"id": id, "type": "purchase", "occurred_at": "2026-11-01T10:00:00Z",
               "identifiers": [{"kind": "email", "value": email}],
               "properties": {"order_id": id, "amount": "99999999999999.9999", "currency": "EUR",
                              "store": "paris-1", "items": []}})
    };
    let (status, answer) = super::support::post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/events",
        json!([
            purchase("p-1", "a@example.com"),
            purchase("p-2", "a@example.com"),
            purchase("p-3", "b@example.com"),
        ]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3, "{answer}");
    let a: Uuid = answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let b: Uuid = answer["results"][2]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, merged) = merge(&app, &token, a, &[b], false).await;
    assert_eq!(status, 201, "{merged}");
    assert_eq!(
        merged["survivor"]["counters"]["lifetime_value"],
        "299999999999999.9997"
    );
}
