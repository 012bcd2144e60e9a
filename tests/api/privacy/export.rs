//! A marketer's export of a profile every context has touched: the request, its progress, the archive's
//! contents, the signed link (expired and tampered ones refused) and the completion event.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{
    ask_export, completed, download, download_path, manifest_count, records, request_path, step,
};
use crate::helpers::{
    TestApp, TestOptions, marketer_token, problem, send, spawn_app_with, staff, token_of,
};

const CLIENTS: &str = "/api/v1/brands/maison/clienteling/clients";
const EMAIL: &str = "anne.roux@example.com";

async fn ok(app: &TestApp, method: Method, token: &str, path: &str, body: Value) -> Value {
    let response = send(app, method, Some(token), path, Some(body)).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// A client of the Paris book with consent, activities, a segment, scores, an interaction, a task and an
/// appointment, made through the public APIs; answers the profile id and the marketer's token.
async fn touched_by_every_context(app: &TestApp) -> (String, String) {
    let marketer = marketer_token(app, "mkt@maison.example", "maison").await;
    let advisor = token_of(
        &staff(
            app,
            "ca.paris@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let manager = token_of(
        &staff(
            app,
            "mgr.paris@maison.example",
            "manager",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let client = ok(
        app,
        Method::POST,
        &advisor,
        CLIENTS,
        json!({ "attributes": { "first_name": "Anne", "last_name": "Roux", "email": EMAIL, "tier": "gold" },
                "store": "paris-1", "notes": "Prefers silk" }),
    )
    .await;
    let id = client["id"].as_str().unwrap().to_owned();
    let profiles = format!("/api/v1/brands/maison/crm/profiles/{id}");
    ok(
        app,
        Method::PUT,
        &marketer,
        &format!("{profiles}/consents/email/marketing"),
        json!({ "status": "granted", "source": "boutique", "captured_at": Utc::now() - Duration::days(2) }),
    )
    .await;
    let now = Utc::now();
    ok(
        app,
        Method::POST,
        &marketer,
        "/api/v1/brands/maison/crm/events",
        json!([
            { "id": "anne-1", "type": "page_view", "occurred_at": now - Duration::days(1),
              "identifiers": [{ "kind": "email", "value": EMAIL }], "properties": { "url": "https://maison.example/bags" } },
            { "id": "anne-2", "type": "purchase", "occurred_at": now - Duration::hours(5),
              "identifiers": [{ "kind": "email", "value": EMAIL }],
              "properties": { "order_id": "A-1", "amount": "1200.00", "currency": "EUR" } },
        ]),
    )
    .await;
    let segment = ok(
        app,
        Method::POST,
        &marketer,
        "/api/v1/brands/maison/crm/segments",
        json!({ "slug": "gold", "name": "Gold", "rule": { "attribute": "tier", "op": "eq", "value": "gold" } }),
    )
    .await;
    ok(
        app,
        Method::POST,
        &marketer,
        &format!(
            "/api/v1/brands/maison/crm/segments/{}/refresh",
            segment["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    ok(
        app,
        Method::POST,
        &advisor,
        &format!("{CLIENTS}/{id}/interactions"),
        json!({ "channel": "whatsapp", "context": "product_share", "subject": "The new bags",
                "metadata": { "skus": ["MSN-BAG-001"], "message": "Thought of you" } }),
    )
    .await;
    ok(
        app,
        Method::POST,
        &advisor,
        "/api/v1/brands/maison/clienteling/tasks",
        json!({ "client_id": id, "title": "Call about the bag", "due_at": now + Duration::days(2) }),
    )
    .await;
    let starts = now + Duration::days(30);
    let event = ok(
        app,
        Method::POST,
        &marketer,
        "/api/v1/brands/maison/events",
        json!({ "name": "Winter soirée", "store": "paris-1", "starts_at": starts,
                "ends_at": starts + Duration::hours(3) }),
    )
    .await;
    let event = event["id"].as_str().unwrap().to_owned();
    ok(
        app,
        Method::POST,
        &marketer,
        &format!("/api/v1/brands/maison/events/{event}/open"),
        json!({}),
    )
    .await;
    ok(
        app,
        Method::POST,
        &advisor,
        &format!("/api/v1/brands/maison/events/{event}/invitations"),
        json!({ "client_id": id }),
    )
    .await;
    let days: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|day| json!({ "weekday": day, "opens": "00:00", "closes": "23:59" }))
    .collect();
    ok(
        app,
        Method::PUT,
        &manager,
        "/api/v1/brands/maison/clienteling/stores/paris-1/opening-hours",
        json!({ "intervals": days }),
    )
    .await;
    let start = (now + Duration::days(10))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    ok(
        app,
        Method::POST,
        &advisor,
        "/api/v1/brands/maison/clienteling/appointments",
        json!({ "client_id": id, "store": "paris-1", "starts_at": start,
                "ends_at": start + Duration::hours(1), "kind": "in_store", "notes": "Fitting" }),
    )
    .await;
    (id, marketer)
}

#[tokio::test]
async fn an_export_gathers_every_context_into_one_signed_archive() {
    let app = spawn_app_with(TestOptions {
        jobs: true,
        ..TestOptions::default()
    })
    .await;
    let (profile, marketer) = touched_by_every_context(&app).await;

    let request = ask_export(&app, &marketer, "maison", &profile).await;
    assert_eq!(request["kind"], "export");
    assert_eq!(request["brand"], "maison");
    assert_eq!(request["profile_id"], profile);
    assert_eq!(request["requested_by"]["kind"], "staff");
    assert_eq!(request["requested_by"]["role"], "marketer");
    assert_eq!(request["progress"]["total"], 3, "{request}");
    assert!(request["download"].is_null());
    let created: chrono::DateTime<Utc> =
        serde_json::from_value(request["created_at"].clone()).unwrap();
    let due: chrono::DateTime<Utc> = serde_json::from_value(request["due_at"].clone()).unwrap();
    assert_eq!((due - created).num_days(), 30);
    let id = request["id"].as_str().unwrap();

    let done = completed(&app, &marketer, &request_path("maison", id)).await;
    assert_eq!(done["progress"], json!({ "done": 3, "total": 3 }));
    assert_eq!(step(&done, "crm")["status"], "completed");
    assert!(done["completed_at"].is_string());

    let files = download(&app, &done).await;
    assert_eq!(files["manifest.json"]["request_id"], id);
    assert_eq!(files["manifest.json"]["profile_id"], profile);
    let profile_file = records(&files, "crm/profile.json");
    assert_eq!(profile_file[0]["email"], EMAIL);
    assert_eq!(profile_file[0]["tier"], "gold");
    let identifiers = records(&files, "crm/identifiers.json");
    assert!(
        identifiers
            .iter()
            .any(|i| i["kind"] == "email" && i["value"] == EMAIL),
        "{identifiers:?}"
    );
    assert_eq!(
        step(&done, "crm")["counts"]["identifiers"].as_u64(),
        Some(identifiers.len() as u64)
    );
    assert_eq!(records(&files, "crm/consents.json")[0]["status"], "granted");
    assert!(!records(&files, "crm/consent_history.json").is_empty());
    let activities: Vec<&str> = records(&files, "crm/activities.json")
        .iter()
        .filter_map(|activity| activity["type"].as_str())
        .collect();
    assert!(
        activities.contains(&"page_view") && activities.contains(&"purchase"),
        "{activities:?}"
    );
    assert_eq!(
        records(&files, "crm/segment_memberships.json")[0]["segment"],
        "Gold"
    );
    assert_eq!(
        records(&files, "crm/segment_history.json")[0]["change"],
        "entered"
    );
    assert!(!records(&files, "crm/scores.json").is_empty());
    assert!(records(&files, "crm/scores.json")[0]["reasons"].is_array());
    assert!(records(&files, "crm/messages.json").is_empty());
    let invitations = records(&files, "brand_events/brand_event_invitations.json");
    assert_eq!(invitations.len(), 1, "{invitations:?}");
    assert_eq!(invitations[0]["event"]["name"], "Winter soirée");
    assert_eq!(invitations[0]["source"], "advisor");
    assert_eq!(
        records(&files, "clienteling/client.json")[0]["notes"],
        "Prefers silk"
    );
    let interactions = records(&files, "clienteling/interactions.json");
    assert_eq!(interactions[0]["subject"], "The new bags");
    assert!(!interactions[0]["events"].as_array().unwrap().is_empty());
    assert_eq!(
        records(&files, "clienteling/tasks.json")[0]["title"],
        "Call about the bag"
    );
    assert_eq!(
        records(&files, "clienteling/appointments.json")[0]["notes"],
        "Fitting"
    );
    // The manifest counts what the files hold.
    assert_eq!(
        manifest_count(&files, "crm/activities.json"),
        records(&files, "crm/activities.json").len() as u64
    );
    assert!(files["retention.json"]["retained"].is_array());
    // Nothing of the portal for a profile that is no portal customer.
    assert!(!files.keys().any(|name| name.starts_with("portal_")));

    let completions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox_events WHERE topic = 'crm.privacy.export.completed' AND aggregate_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(completions, 1);
    // The steps' copies of the data are gone once the archive holds it.
    let copies: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM privacy_request_steps WHERE request_id = $1::uuid AND output IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(copies, 0);
}

#[tokio::test]
async fn edited_and_expired_links_are_refused_and_the_purge_deletes_expired_archives() {
    let app = spawn_app_with(TestOptions {
        jobs: true,
        ..TestOptions::default()
    })
    .await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca.paris@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let client = ok(
        &app,
        Method::POST,
        &advisor,
        CLIENTS,
        json!({ "attributes": { "first_name": "Léa", "email": "lea@example.com" }, "store": "paris-1" }),
    )
    .await;
    let request = ask_export(&app, &marketer, "maison", client["id"].as_str().unwrap()).await;
    let id = request["id"].as_str().unwrap();
    let done = completed(&app, &marketer, &request_path("maison", id)).await;
    let path = download_path(&done);
    assert_eq!(app.get(&path).await.status(), 200);

    // One character changed, anywhere: not ours.
    let token = path.rsplit('/').next().unwrap().to_owned();
    for at in [0, 20, token.len() - 1] {
        let mut edited = token.clone().into_bytes();
        edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        let response = app
            .get(&format!("/api/v1/privacy/downloads/{edited}"))
            .await;
        assert_eq!(response.status(), 403, "edited at {at}");
        assert_eq!(
            problem(response).await["type"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next(),
            Some("privacy-link-invalid")
        );
    }
    for garbage in ["x", "..", "%00"] {
        let response = app
            .get(&format!("/api/v1/privacy/downloads/{garbage}"))
            .await;
        assert!(matches!(response.status().as_u16(), 403 | 404), "{garbage}");
    }
    // Signed with another key: refused.
    let foreign = concierge::privacy::link::LinkSigner::new(
        &"another-key-of-enough-length-for-the-privacy-links"
            .to_owned()
            .into(),
    )
    .sign(id.parse().unwrap(), Utc::now() + Duration::days(1));
    assert_eq!(
        app.get(&format!("/api/v1/privacy/downloads/{foreign}"))
            .await
            .status(),
        403
    );
    // Genuine, but past its expiry.
    let ours = concierge::privacy::link::LinkSigner::new(&app.state.settings.privacy.download_key);
    let expired = ours.sign(id.parse().unwrap(), Utc::now() - Duration::seconds(1));
    let response = app
        .get(&format!("/api/v1/privacy/downloads/{expired}"))
        .await;
    assert_eq!(response.status(), 410);
    assert_eq!(
        problem(response).await["type"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next(),
        Some("privacy-link-expired")
    );

    // The archive's time runs out: the link shown goes, the purge deletes it, the old link answers 410.
    sqlx::query("UPDATE privacy_archives SET expires_at = now() - interval '1 second' WHERE request_id = $1::uuid")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let after = send(
        &app,
        Method::GET,
        Some(&marketer),
        &request_path("maison", id),
        None,
    )
    .await;
    let after: Value = after.json().await.unwrap();
    assert!(after["download"].is_null(), "{after}");
    assert_eq!(app.get(&path).await.status(), 410);
    let purged = concierge::privacy::purge_expired_archives(&app.state.privacy)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_archives")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
