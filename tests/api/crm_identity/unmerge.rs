//! Unmerge: exact restoration, the rule for later changes, blocked and repeated unmerges.

use serde_json::json;
use uuid::Uuid;

use super::support::{
    activity, code, consent, everything, export, merge, profile, resolve, topics, unmerge,
};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn unmerge_restores_the_profiles_byte_for_byte() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(
        &app,
        &token,
        "maison",
        "email:a@example.com",
        json!({"first_name": "Ada", "tags": ["a"], "country": "FR"}),
    )
    .await;
    let b = profile(
        &app,
        &token,
        "maison",
        "email:b@example.com",
        json!({"first_name": "Bea", "city": "Tokyo", "tags": ["b"]}),
    )
    .await;
    let c = profile(
        &app,
        &token,
        "maison",
        "scl_member:77",
        json!({"tier": "platinum", "birthday": "1990-02-03"}),
    )
    .await;
    resolve(
        &app,
        &token,
        "maison",
        &["email:b@example.com", "phone:+81312345678"],
        json!({}),
    )
    .await;
    sqlx::query("UPDATE crm_profiles SET custom = '{\"size\": \"M\"}' WHERE id = $1")
        .bind(b)
        .execute(&app.db)
        .await
        .unwrap();
    for (id, kind, days) in [
        (a, "purchase", 10),
        (b, "purchase", 400),
        (b, "booking", 2),
        (c, "page_view", 5),
    ] {
        activity(&app, id, kind, days).await;
    }
    consent(&app, a, "email", "marketing", "granted").await;
    consent(&app, b, "email", "marketing", "denied").await;
    consent(&app, c, "sms", "outreach", "granted").await;
    consent(&app, a, "sms", "outreach", "granted").await;

    let ids = [a, b, c];
    let before = export(&app, &ids).await;
    let (status, merged) = merge(&app, &token, a, &[b, c], false).await;
    assert_eq!(status, 201, "{merged}");
    assert_ne!(export(&app, &ids).await, before, "the merge changed things");
    let merge_id = merged["merge"]["id"].as_str().unwrap().to_owned();

    let all_before_dry = everything(&app).await;
    let (status, dry) = unmerge(&app, &token, &merge_id, true).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["profiles"].as_array().unwrap().len(), 3);
    assert_eq!(
        everything(&app).await,
        all_before_dry,
        "a dry unmerge writes nothing"
    );

    let (status, undone) = unmerge(&app, &token, &merge_id, false).await;
    assert_eq!(status, 200, "{undone}");
    assert_eq!(
        export(&app, &ids).await,
        before,
        "profiles, identifiers, consents and activities are back exactly"
    );
    assert!(undone["merge"]["unmerged_at"].is_string());
    let history: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_consent_history WHERE cause = 'unmerge'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        history >= 1,
        "the survivor's restored consent is in the history"
    );

    let (status, again) = unmerge(&app, &token, &merge_id, false).await;
    assert_eq!(status, 409);
    assert_eq!(code(&again), "already-unmerged");
    let events = topics(&app, "crm.profile.unmerged").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["merge_id"], merge_id);
    assert_eq!(events[0]["survivor_id"], a.to_string());
}

#[tokio::test]
async fn changes_after_the_merge_stay_on_the_survivor_and_a_later_merge_blocks_until_undone() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(
        &app,
        &token,
        "maison",
        "email:a@example.com",
        json!({"first_name": "Ada", "city": "Nice"}),
    )
    .await;
    let b = profile(
        &app,
        &token,
        "maison",
        "email:b@example.com",
        json!({"city": "Lille", "tags": ["b"]}),
    )
    .await;
    let c = profile(&app, &token, "maison", "email:c@example.com", json!({})).await;
    let b_before = export(&app, &[b]).await;
    let (_, first) = merge(&app, &token, a, &[b], false).await;
    let first_id = first["merge"]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["survivor"]["attributes"]["city"], "Lille");

    // After the merge: a new identifier and a new first name on the survivor, then a second merge.
    let (_, later) = resolve(
        &app,
        &token,
        "maison",
        &["email:a@example.com", "scl_member:9"],
        json!({"first_name": "Adele"}),
    )
    .await;
    assert_eq!(later["profile"]["id"], a.to_string());
    let (_, second) = merge(&app, &token, a, &[c], false).await;
    let second_id = second["merge"]["id"].as_str().unwrap().to_owned();

    let (status, blocked) = unmerge(&app, &token, &first_id, false).await;
    assert_eq!(status, 409);
    assert_eq!(code(&blocked), "unmerge-blocked");
    assert!(
        blocked["detail"].as_str().unwrap().contains(&second_id),
        "{blocked}"
    );

    let (status, _) = unmerge(&app, &token, &second_id, false).await;
    assert_eq!(status, 200);
    let (status, undone) = unmerge(&app, &token, &first_id, false).await;
    assert_eq!(status, 200, "{undone}");
    assert_eq!(
        export(&app, &[b]).await,
        b_before,
        "the absorbed profile is back exactly"
    );
    let survivor = &undone["profiles"][0];
    assert_eq!(survivor["id"], a.to_string());
    assert_eq!(
        survivor["attributes"]["first_name"], "Adele",
        "changed after the merge: stays"
    );
    assert_eq!(
        survivor["attributes"]["city"], "Nice",
        "set by the merge: back to before"
    );
    assert_eq!(
        survivor["attributes"]["tags"],
        json!([]),
        "tags the merge added leave"
    );
    let identifiers: Vec<&str> = survivor["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        identifiers,
        ["a@example.com", "9"],
        "added after the merge: stays"
    );
    let (_, b_again) = resolve(&app, &token, "maison", &["email:b@example.com"], json!({})).await;
    assert_eq!(b_again["profile"]["id"], b.to_string());
}

#[tokio::test]
async fn an_identifier_moved_to_a_third_profile_blocks_the_unmerge_and_changes_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(&app, &token, "maison", "email:a@example.com", json!({})).await;
    let b = profile(&app, &token, "maison", "email:b@example.com", json!({})).await;
    let c = profile(&app, &token, "maison", "email:c@example.com", json!({})).await;
    let (_, merged) = merge(&app, &token, a, &[b], false).await;
    let merge_id = merged["merge"]["id"].as_str().unwrap().to_owned();
    // As the profiles API's identifier remove/add would: b's email now belongs to c.
    sqlx::query("UPDATE crm_identifiers SET profile_id = $1 WHERE value = 'b@example.com'")
        .bind(c)
        .execute(&app.db)
        .await
        .unwrap();
    let before = everything(&app).await;
    let (status, blocked) = unmerge(&app, &token, &merge_id, false).await;
    assert_eq!(status, 409);
    assert_eq!(code(&blocked), "unmerge-blocked");
    assert!(
        blocked["detail"]
            .as_str()
            .unwrap()
            .contains("b@example.com")
    );
    assert_eq!(everything(&app).await, before);
}

/// A merge's `merged_at` is its transaction's start (`now()`), and an event batch's transaction can start
/// before another merge over the same profiles commits: the later merge then looks earlier. Unmerging the
/// first merge must still be refused while the later one stands, instead of bringing its survivor back to
/// life while another profile holds everything it had.
#[tokio::test]
async fn a_later_merge_from_a_transaction_that_began_earlier_still_blocks_the_unmerge() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let a = profile(&app, &token, "maison", "email:a@example.com", json!({})).await;
    let b = profile(&app, &token, "maison", "email:b@example.com", json!({})).await;
    let c = profile(&app, &token, "maison", "email:c@example.com", json!({})).await;
    // A profile whose identifiers were all removed (as `DELETE …/identifiers/{kind}/{value}` does).
    sqlx::query("DELETE FROM crm_identifiers WHERE profile_id = $1")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    let brand_id: Uuid = sqlx::query_scalar("SELECT id FROM brands WHERE slug = 'maison'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // A long transaction (an event batch) begins …
    let mut long = app.db.begin().await.unwrap();
    sqlx::query("SELECT now()")
        .execute(&mut *long)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // … a marketer merges a into b meanwhile …
    let (status, first) = merge(&app, &token, b, &[a], false).await;
    assert_eq!(status, 201, "{first}");
    let first_id = first["merge"]["id"].as_str().unwrap().to_owned();
    // … and the batch then merges b into c (resolution), after the first merge committed.
    let second = concierge::crm::merge::merge(
        &mut long,
        brand_id,
        &concierge::crm::merge::MergeRequest {
            survivor: c,
            absorbed: &[b],
            cause: concierge::crm::merge::Cause::Resolution,
            actor: "event",
        },
    )
    .await
    .unwrap();
    long.commit().await.unwrap();

    let before = everything(&app).await;
    let (status, blocked) = unmerge(&app, &token, &first_id, false).await;
    assert_eq!(status, 409, "{blocked}");
    assert_eq!(code(&blocked), "unmerge-blocked");
    assert!(
        blocked["detail"]
            .as_str()
            .unwrap()
            .contains(&second.to_string()),
        "{blocked}"
    );
    assert_eq!(
        everything(&app).await,
        before,
        "a refused unmerge changes nothing"
    );
}
