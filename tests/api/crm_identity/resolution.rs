//! Each resolution outcome, blocked values, limits and weak kinds.

use serde_json::json;

use super::support::{code, fields, id, post, resolve, topics};
use crate::helpers::{marketer_token, spawn_app};

fn statuses(body: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    body["outcome"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!(
                    "{}:{}",
                    i["kind"].as_str().unwrap(),
                    i["value"].as_str().unwrap()
                ),
                i["status"].as_str().unwrap().to_owned(),
                i["refusal"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn resolution_creates_then_matches_then_merges_into_the_oldest_and_says_why() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;

    let (status, jane) = resolve(
        &app,
        &token,
        "maison",
        &["email: Jane@Example.com "],
        json!({"first_name": "Jane"}),
    )
    .await;
    assert_eq!(status, 201, "{jane}");
    assert_eq!(jane["outcome"]["kind"], "created");
    assert_eq!(
        statuses(&jane),
        [("email:jane@example.com".into(), "attached".into(), None)]
    );
    assert_eq!(jane["profile"]["attributes"]["first_name"], "Jane");
    let jane_id = id(&jane);

    let (status, again) = resolve(
        &app,
        &token,
        "maison",
        &["email:jane@example.com", "scl_member:1042"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["outcome"]["kind"], "matched");
    assert_eq!(id(&again), jane_id);
    assert_eq!(
        statuses(&again),
        [
            ("email:jane@example.com".into(), "matched".into(), None),
            ("scl_member:1042".into(), "attached".into(), None)
        ]
    );
    assert_eq!(
        again["outcome"]["identifiers"][0]["profile_id"],
        jane_id.to_string()
    );

    let (status, other) = resolve(
        &app,
        &token,
        "maison",
        &["email:j.doe@example.com"],
        json!({"city": "Lyon"}),
    )
    .await;
    assert_eq!(status, 201);
    let other_id = id(&other);

    let (status, merged) = resolve(
        &app,
        &token,
        "maison",
        &["email:j.doe@example.com", "scl_member:1042"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["outcome"]["kind"], "merged");
    assert_eq!(id(&merged), jane_id, "the oldest profile survives");
    let matched: Vec<String> = merged["outcome"]["matched_profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(matched.len(), 2);
    assert!(matched.contains(&other_id.to_string()));
    assert_eq!(merged["profile"]["attributes"]["city"], "Lyon");
    let identifiers: Vec<&str> = merged["profile"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        identifiers,
        ["j.doe@example.com", "jane@example.com", "1042"]
    );
    let merge_id = merged["outcome"]["merge_id"].as_str().unwrap();

    let (status, ledger) = super::support::get(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ledger["cause"], "resolution");
    assert_eq!(ledger["survivor_id"], jane_id.to_string());
    assert_eq!(ledger["identifiers_moved"][0]["value"], "j.doe@example.com");

    // The absorbed id now resolves to the survivor.
    let (_, via_absorbed) = resolve(
        &app,
        &token,
        "maison",
        &["email:j.doe@example.com"],
        json!({}),
    )
    .await;
    assert_eq!(id(&via_absorbed), jane_id);
    assert_eq!(via_absorbed["outcome"]["kind"], "matched");

    assert_eq!(topics(&app, "crm.profile.created").await.len(), 2);
    let merges = topics(&app, "crm.profile.merged").await;
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0]["merge_id"], merge_id);
    assert_eq!(merges[0]["absorbed_ids"], json!([other_id]));
}

#[tokio::test]
async fn blocked_values_never_match_and_limits_refuse_extra_identifiers() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;

    let (status, body) = resolve(
        &app,
        &token,
        "maison",
        &[
            "email:test@test.com",
            "email:ann@example.com",
            "scl_member:0000",
        ],
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        statuses(&body),
        [
            ("email:ann@example.com".into(), "attached".into(), None),
            (
                "email:test@test.com".into(),
                "refused".into(),
                Some("blocked_value".into())
            ),
            (
                "scl_member:0000".into(),
                "refused".into(),
                Some("blocked_value".into())
            ),
        ]
    );
    // A blocked value never matches: another person sending it gets their own profile.
    let (status, bob) = resolve(
        &app,
        &token,
        "maison",
        &["email:test@test.com", "email:bob@example.com"],
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    assert_ne!(id(&bob), id(&body));

    let (status, only_blocked) = resolve(
        &app,
        &token,
        "maison",
        &["scl_member:anonymous", "email:noreply@shop.example"],
        json!({}),
    )
    .await;
    assert_eq!(status, 422, "{only_blocked}");
    assert_eq!(
        fields(&only_blocked),
        ["identifiers/0/value", "identifiers/1/value"]
    );

    // portal_user: at most one per profile.
    let first = uuid::Uuid::now_v7();
    let second = uuid::Uuid::now_v7();
    let (status, users) = resolve(
        &app,
        &token,
        "maison",
        &[
            "email:ann@example.com",
            &format!("portal_user:{first}"),
            &format!("portal_user:{second}"),
        ],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{users}");
    let refused: Vec<_> = statuses(&users)
        .into_iter()
        .filter(|s| s.2.is_some())
        .collect();
    assert_eq!(refused.len(), 1, "{users}");
    assert_eq!(refused[0].2.as_deref(), Some("limit_exceeded"));
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE kind = 'portal_user'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(held, 1, "the refused one is not stored anywhere");
}

#[tokio::test]
async fn weak_identifiers_match_only_when_nothing_stronger_does_and_never_merge() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let (_, mother) = resolve(
        &app,
        &token,
        "maison",
        &["email:mother@example.com", "phone:+33 6 12 34 56 78"],
        json!({}),
    )
    .await;
    let (_, son) = resolve(
        &app,
        &token,
        "maison",
        &["email:son@example.com"],
        json!({}),
    )
    .await;

    let (status, body) = resolve(
        &app,
        &token,
        "maison",
        &["email:son@example.com", "phone:+33612345678"],
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["outcome"]["kind"], "matched");
    assert_eq!(id(&body), id(&son));
    assert_eq!(
        statuses(&body),
        [
            ("email:son@example.com".into(), "matched".into(), None),
            ("phone:+33612345678".into(), "held_by_other".into(), None)
        ]
    );
    assert_eq!(
        body["outcome"]["identifiers"][1]["profile_id"],
        id(&mother).to_string()
    );

    let (status, alone) = resolve(&app, &token, "maison", &["phone:+33612345678"], json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(alone["outcome"]["kind"], "matched");
    assert_eq!(id(&alone), id(&mother));
    let merges: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_merges")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(merges, 0);
}

#[tokio::test]
async fn bad_resolution_input_is_a_problem_naming_the_field() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let path = "/api/v1/brands/maison/crm/profiles";
    let many: Vec<_> = (0..21)
        .map(|n| json!({"kind": "scl_member", "value": format!("m{n}")}))
        .collect();
    for (body, field) in [
        (json!({"identifiers": []}), "identifiers"),
        (json!({"identifiers": many}), "identifiers"),
        (
            json!({"identifiers": [{"kind": "Email", "value": "a@b.co"}]}),
            "identifiers/0/kind",
        ),
        (
            json!({"identifiers": [{"kind": "email", "value": "ok@b.co"}, {"kind": "email", "value": "nope"}]}),
            "identifiers/1/value",
        ),
        (
            json!({"identifiers": [{"kind": "phone", "value": "0612"}]}),
            "identifiers/0/value",
        ),
        (
            json!({"identifiers": [{"kind": "email", "value": "a@b.co"}], "attributes": {"email": "x"}}),
            "attributes/email",
        ),
        (
            json!({"identifiers": [{"kind": "email", "value": "a@b.co"}], "attributes": {"country": "France"}}),
            "attributes/country",
        ),
    ] {
        let (status, problem) = post(&app, &token, path, body.clone()).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert_eq!(code(&problem), "validation-failed");
        assert!(
            fields(&problem).contains(&field.to_owned()),
            "{body} → {problem}"
        );
    }
    for body in [
        json!({"identifiers": [{"kind": "email", "value": "a@b.co", "extra": 1}]}),
        json!({"identifiers": [{"kind": "email", "value": "a@b.co"}], "attributes": {"nickname": "x"}}),
        json!({"identifiers": "email:a@b.co"}),
        json!({}),
    ] {
        let (status, _) = post(&app, &token, path, body.clone()).await;
        assert!((400..500).contains(&status), "{body} → {status}");
    }
    let raw = app
        .client
        .post(app.url(path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let nothing: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(nothing, 0);
}
