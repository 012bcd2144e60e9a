//! Review (atk12): concurrent rule edits closing a cycle between segments; custom date values PostgreSQL
//! cannot read back; an event's re-evaluation waiting on a refresh; writers waiting on a deletion.

use reqwest::Method;
use serde_json::json;

use super::{brand_id, call, create, members, post, preview, profile};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn two_concurrent_edits_naming_each_other_never_both_save_a_cycle() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    for round in 0..8 {
        let (a_slug, b_slug) = (format!("a-{round}"), format!("b-{round}"));
        let a = create(&app, &token, "maison", &json!({
            "slug": a_slug, "name": "A", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
        }))
        .await;
        let b = create(&app, &token, "maison", &json!({
            "slug": b_slug, "name": "B", "rule": {"attribute": "tier", "op": "eq", "value": "silver"}
        }))
        .await;
        let path = |segment: &serde_json::Value| {
            format!(
                "/api/v1/brands/maison/crm/segments/{}",
                segment["id"].as_str().unwrap()
            )
        };
        let (a_path, b_path) = (path(&a), path(&b));
        let a_rule = json!({"rule": {"segment": b_slug, "is": "member"}});
        let b_rule = json!({"rule": {"segment": a_slug, "is": "member"}});
        let ((a_status, a_body), (b_status, b_body)) = tokio::join!(
            call(&app, &token, Method::PATCH, &a_path, Some(&a_rule)),
            call(&app, &token, Method::PATCH, &b_path, Some(&b_rule)),
        );
        assert!(
            !(a_status == 200 && b_status == 200),
            "round {round}: both edits saved, so each segment names the other: {a_body} {b_body}"
        );
        for (status, body) in [(a_status, &a_body), (b_status, &b_body)] {
            if status != 200 {
                assert_eq!(status, 422, "{body}");
                assert_eq!(body["errors"][0]["code"], "segment_cycle", "{body}");
            }
        }
    }
}

#[tokio::test]
async fn a_segment_named_by_an_edit_under_way_cannot_be_deleted_beneath_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    for round in 0..8 {
        let target_slug = format!("target-{round}");
        let target = create(&app, &token, "maison", &json!({
            "slug": target_slug, "name": "T", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
        }))
        .await;
        let user = create(&app, &token, "maison", &json!({
            "slug": format!("user-{round}"), "name": "U", "rule": {"attribute": "tier", "op": "eq", "value": "silver"}
        }))
        .await;
        let target_path = format!(
            "/api/v1/brands/maison/crm/segments/{}",
            target["id"].as_str().unwrap()
        );
        let user_path = format!(
            "/api/v1/brands/maison/crm/segments/{}",
            user["id"].as_str().unwrap()
        );
        let rule = json!({"rule": {"segment": target_slug, "is": "member"}});
        let ((patched, patch_body), (deleted, delete_body)) = tokio::join!(
            call(&app, &token, Method::PATCH, &user_path, Some(&rule)),
            call(&app, &token, Method::DELETE, &target_path, None),
        );
        assert!(
            !(patched == 200 && deleted == 204),
            "round {round}: the rule names a segment deleted at the same time: {patch_body} {delete_body}"
        );
    }
}

#[tokio::test]
async fn a_custom_date_postgresql_cannot_read_is_refused_and_never_breaks_the_brands_segments() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    for (name, kind) in [("vip_since", "date"), ("seen_at", "datetime")] {
        let (status, body) = post(
            &app,
            &token,
            "/api/v1/brands/maison/crm/attributes",
            &json!({"name": name, "type": kind}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let id = profile(&app, maison, json!({"first_name": "Ann"})).await;
    let path = format!("/api/v1/brands/maison/crm/profiles/{id}");
    for custom in [
        json!({"vip_since": "0000-01-01"}),
        json!({"vip_since": "-0005-03-01"}),
        json!({"vip_since": "+12345-01-01"}),
        json!({"seen_at": "0000-06-01T00:00:00Z"}),
        json!({"seen_at": "0001-01-01T00:00:00+14:00"}),
    ] {
        let response = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&token)
            .header("content-type", "application/merge-patch+json")
            .body(json!({"custom": custom}).to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 422, "{custom} was stored: {body}");
    }
    for rule in [
        json!({"attribute": "vip_since", "op": "lt", "value": "2000-01-01"}),
        json!({"attribute": "seen_at", "op": "within_last", "value": {"days": 30}}),
    ] {
        let (status, body) = preview(&app, &token, "maison", &rule).await;
        assert_eq!(status, 200, "{rule}: {body}");
    }
}

#[tokio::test]
async fn an_event_waiting_on_a_refresh_judges_membership_by_what_the_refresh_wrote() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let now = chrono::Utc::now();
    let event = |id: &str, traits: serde_json::Value| {
        json!([{"id": id, "type": "page_view", "occurred_at": now.to_rfc3339(),
            "identifiers": [{"kind": "email", "value": "jane@example.com"}], "traits": traits,
            "properties": {"url": "https://maison.example/"}}])
    };
    let (status, answer) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/events",
        &event("e1", json!({})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let jane: uuid::Uuid = answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let gold = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await;
    let segment: uuid::Uuid = gold["id"].as_str().unwrap().parse().unwrap();
    // Jane is still listed from an earlier state (her tier was cleared by a write no hook follows).
    sqlx::query(
        "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
         VALUES ($1, $2, $3, now(), 1)",
    )
    .bind(segment)
    .bind(jane)
    .bind(maison)
    .execute(&app.db)
    .await
    .unwrap();

    // A full refresh under way: it holds the segment's lock exclusively and has written Jane's exit (she has
    // no tier in its snapshot), not yet committed.
    let mut refresh = app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 12))")
        .bind(segment)
        .execute(&mut *refresh)
        .await
        .unwrap();
    sqlx::query("DELETE FROM crm_segment_members WHERE segment_id = $1 AND profile_id = $2")
        .bind(segment)
        .bind(jane)
        .execute(&mut *refresh)
        .await
        .unwrap();

    // Meanwhile Jane becomes gold: the event's re-evaluation waits for the refresh's lock.
    let becomes_gold = event("e2", json!({"tier": "gold"}));
    let ingest = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/events",
        &becomes_gold,
    );
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        refresh.commit().await.unwrap();
    };
    let ((status, answer), ()) = tokio::join!(ingest, commit);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    assert_eq!(
        members(&app, &segment.to_string()).await,
        vec![jane],
        "Jane is gold, yet out of the segment: her event judged by the membership it read before the refresh's exit committed"
    );
}

#[tokio::test]
async fn a_csv_upload_stops_at_a_segment_deleted_beneath_it_and_leaves_no_members_there() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    sqlx::query("INSERT INTO crm_profiles (id, brand_id) SELECT gen_random_uuid(), $1 FROM generate_series(1, 1500)")
        .bind(maison)
        .execute(&app.db)
        .await
        .unwrap();
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM crm_profiles WHERE brand_id = $1 ORDER BY id")
            .bind(maison)
            .fetch_all(&app.db)
            .await
            .unwrap();
    let segment = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "list", "name": "List", "kind": "static"}),
    )
    .await;
    let id: uuid::Uuid = segment["id"].as_str().unwrap().parse().unwrap();
    let mut csv = String::from("profile_id\n");
    for profile in &ids {
        csv.push_str(&format!("{profile}\n"));
    }

    // The segment is being deleted, committed while the upload waits for its lock.
    let delete = deleting(&app, id).await;
    let upload = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/segments/{id}/members/csv"
        )))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send();
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        delete.commit().await.unwrap();
    };
    let (response, ()) = tokio::join!(upload, commit);
    let status = response.unwrap().status().as_u16();
    assert_eq!(status, 404, "the upload went on into a deleted segment");
    assert!(
        members(&app, &id.to_string()).await.is_empty(),
        "members written into a deleted segment"
    );
    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_events WHERE topic = 'crm.segment.membership.changed' AND aggregate_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(announced, 0, "entries announced for a deleted segment");
}

/// Deletes the segment as `DELETE …/segments/{id}` does, step by step, without committing: its lock held
/// exclusively, its members gone, the row marked deleted.
async fn deleting(
    app: &crate::helpers::TestApp,
    id: uuid::Uuid,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut delete = app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 12))")
        .bind(id)
        .execute(&mut *delete)
        .await
        .unwrap();
    sqlx::query("DELETE FROM crm_segment_members WHERE segment_id = $1")
        .bind(id)
        .execute(&mut *delete)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_segments SET deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *delete)
        .await
        .unwrap();
    delete
}

#[tokio::test]
async fn an_event_or_a_refresh_waiting_on_a_deletion_writes_nothing_into_the_deleted_segment() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    profile(&app, maison, json!({"first_name": "Bea"})).await;
    let event = |id: &str, city: &str| {
        json!([{"id": id, "type": "page_view", "occurred_at": chrono::Utc::now().to_rfc3339(),
            "identifiers": [{"kind": "email", "value": "jane@example.com"}],
            "traits": {"city": city}, "properties": {"url": "https://maison.example/"}}])
    };
    let (status, answer) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/events",
        &event("e", "Lyon"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for (round, via_event) in [(0, true), (1, false)] {
        let segment = create(&app, &token, "maison", &json!({
            "slug": format!("untiered-{round}"), "name": "No tier", "rule": {"attribute": "tier", "op": "missing"}
        }))
        .await;
        let id: uuid::Uuid = segment["id"].as_str().unwrap().parse().unwrap();
        let delete = deleting(&app, id).await;
        let write = async {
            if via_event {
                let moved = event(&format!("e{round}"), "Paris");
                post(&app, &token, "/api/v1/brands/maison/crm/events", &moved).await
            } else {
                let path = format!("/api/v1/brands/maison/crm/segments/{id}/refresh");
                post(&app, &token, &path, &json!({})).await
            }
        };
        let commit = async {
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            delete.commit().await.unwrap();
        };
        let ((status, answer), ()) = tokio::join!(write, commit);
        assert!(status == 200 || status == 404, "{status} {answer}");
        assert!(
            members(&app, &id.to_string()).await.is_empty(),
            "{}: members written into a deleted segment ({answer})",
            if via_event { "event" } else { "refresh" }
        );
    }
}

#[tokio::test]
async fn a_deletion_waits_for_a_writer_of_the_segment_instead_of_deadlocking_with_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let bea = profile(&app, maison, json!({"first_name": "Bea"})).await;
    let segment = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "untiered", "name": "No tier", "rule": {"attribute": "tier", "op": "missing"}
        }),
    )
    .await;
    let id: uuid::Uuid = segment["id"].as_str().unwrap().parse().unwrap();

    // A writer of the segment (an event's re-evaluation, a manual change: `membership::set_members`) holds
    // its lock shared and is about to insert a member when the deletion comes in.
    let mut writer = app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1::text, 12))")
        .bind(id)
        .execute(&mut *writer)
        .await
        .unwrap();
    let path = format!("/api/v1/brands/maison/crm/segments/{id}");
    let delete = call(&app, &token, Method::DELETE, &path, None);
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let inserted = sqlx::query(
            "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
             VALUES ($1, $2, $3, now(), 1)",
        )
        .bind(id)
        .bind(bea)
        .bind(maison)
        .execute(&mut *writer)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string());
        writer.commit().await.unwrap();
        inserted
    };
    let ((status, answer), inserted) = tokio::join!(delete, write);
    assert_eq!(
        inserted,
        Ok(()),
        "the writer was chosen as a deadlock victim"
    );
    assert_eq!(status, 204, "{answer}");
    assert!(members(&app, &id.to_string()).await.is_empty());
}

#[tokio::test]
async fn a_dynamic_segment_naming_a_static_one_follows_its_manual_and_csv_changes() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let bea = profile(&app, maison, json!({"first_name": "Bea"})).await;
    let cal = profile(&app, maison, json!({"first_name": "Cal", "tier": "gold"})).await;
    let list = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "vip-list", "name": "VIP list", "kind": "static"}),
    )
    .await;
    let list = list["id"].as_str().unwrap().to_owned();
    let untiered_vips = create(&app, &token, "maison", &json!({
        "slug": "untiered-vips", "name": "Untiered VIPs",
        "rule": {"all": [{"segment": "vip-list", "is": "member"}, {"attribute": "tier", "op": "missing"}]}
    }))
    .await;
    let untiered_vips = untiered_vips["id"].as_str().unwrap().to_owned();
    let members_path = format!("/api/v1/brands/maison/crm/segments/{list}/members");

    let (status, body) = post(&app, &token, &members_path, &json!({"add": [bea, cal]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        members(&app, &untiered_vips).await,
        vec![bea],
        "the dynamic segment did not follow the list"
    );
    let (status, body) = post(&app, &token, &members_path, &json!({"remove": [bea]})).await;
    assert_eq!(status, 200, "{body}");
    assert!(members(&app, &untiered_vips).await.is_empty());

    let response = app
        .client
        .post(app.url(&format!("{members_path}/csv")))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(format!("profile_id\n{bea}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(members(&app, &untiered_vips).await, vec![bea]);
}
