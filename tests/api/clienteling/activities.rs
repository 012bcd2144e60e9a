//! Interactions as CRM activities, through the outbox and the CRM's event path: one activity per stream
//! event on exactly the client's profile, once however often it is delivered, in its brand only, and
//! countable by segments.

use concierge::clienteling::interactions::activity::InteractionFeed;
use concierge::outbox::{self, Dispatcher, NewEvent};
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{client, id_of, paris, person};
use super::follow::{log, share, write};
use crate::helpers::{TestApp, marketer_token, spawn_app};

fn feed(app: &TestApp) -> Dispatcher<InteractionFeed> {
    Dispatcher::new(
        app.db.clone(),
        InteractionFeed::new(app.state.crm.clone()),
        app.state.settings.outbox.clone(),
    )
}

/// Delivers until nothing is left; answers how many deliveries failed.
pub async fn deliver_all(app: &TestApp) -> usize {
    let feed = feed(app);
    let mut failed = 0;
    for _ in 0..20 {
        let report = feed.dispatch_batch().await.unwrap();
        failed += report.failed + report.dead;
        if report.delivered == 0 {
            break;
        }
    }
    failed
}

pub async fn activities(app: &TestApp, token: &str, brand: &str, profile: &str) -> (u16, Value) {
    let response = crate::helpers::get_as(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/profiles/{profile}/activities"),
    )
    .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

fn kinds(page: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["type"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn each_interaction_event_is_one_activity_on_the_clients_profile_even_when_delivered_again() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        "\"1\"",
        Some(json!({ "note": "Follow up" })),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let deleted = write(&app, Method::DELETE, &advisor.token, &id, "\"2\"", None).await;
    assert_eq!(deleted.status(), 204);

    assert_eq!(deliver_all(&app).await, 0);
    // Redelivery (a dispatcher that died before marking them delivered): duplicates on the CRM side.
    sqlx::query(
        "UPDATE outbox_events SET status = 'pending' WHERE topic LIKE 'clienteling.interaction.%'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(deliver_all(&app).await, 0);

    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let (status, page) = activities(&app, &marketer, "maison", &claire).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        kinds(&page),
        ["interaction", "interaction_deleted", "interaction_updated"]
    );
    let created = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == "interaction")
        .unwrap();
    let properties = &created["properties"];
    assert_eq!(properties["interaction_id"], id);
    assert_eq!(properties["channel"], "whatsapp");
    assert_eq!(properties["context"], "product_share");
    assert_eq!(properties["advisor_id"], advisor.id.to_string());
    assert_eq!(properties["store"], "paris-1");
    assert_eq!(properties["skus"], json!(["MSN-BAG-001", "MSN-SCF-002"]));
    // The activity reached the client's own profile by its clienteling identifier, no new profile.
    let holders: Vec<(String, String)> = sqlx::query_as(
        "SELECT profile_id::text, value FROM crm_identifiers WHERE kind = 'clienteling_client'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(holders, [(claire.clone(), claire.clone())]);
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 1);
}

#[tokio::test]
async fn another_brand_never_sees_the_activity_and_a_client_of_another_brand_is_refused() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    log(&app, &advisor.token, &claire, share()).await;
    assert_eq!(deliver_all(&app).await, 0);

    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let (status, _) = activities(&app, &atelier, "atelier", &claire).await;
    assert_eq!(status, 404, "maison's profile is not atelier's");
    let (status, _) = activities(&app, &atelier, "maison", &claire).await;
    assert_eq!(status, 404);

    // A forged event naming atelier with maison's client: the link finds no such profile in atelier, the
    // delivery fails (and retries), and nothing is written in either brand.
    let atelier_id = super::follow::brand_id(&app, "atelier").await;
    let mut conn = app.db.acquire().await.unwrap();
    outbox::record(
        &mut conn,
        NewEvent {
            topic: "clienteling.interaction.created",
            aggregate_type: "clienteling_interaction",
            aggregate_id: uuid::Uuid::now_v7().to_string(),
            payload: json!({
                "brand": "atelier", "brand_id": atelier_id, "interaction_id": uuid::Uuid::now_v7(),
                "client_id": claire, "version": 1, "channel": "call", "context": "generic",
                "occurred_at": chrono::Utc::now(), "advisor_id": advisor.id, "store": "paris-1",
                "enrich": { "skus": [] },
            }),
        },
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(deliver_all(&app).await, 1);
    let in_atelier: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE brand_id = $1")
            .bind(atelier_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(in_atelier, 0);
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles WHERE brand_id = $1")
        .bind(atelier_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 0);
}

#[tokio::test]
async fn a_segment_counts_store_visits_logged_by_advisors() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let tokyo = person(
        &app,
        "ca.tokyo2@maison.example",
        "client_advisor",
        Some("maison"),
        &["tokyo-1"],
    )
    .await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let kenji = id_of(
        &client(
            &app,
            &tokyo.token,
            "tokyo-1",
            "Kenji",
            "Sato",
            "kenji@example.com",
        )
        .await,
    );
    let visit = json!({ "channel": "action", "context": "store_visit", "metadata": { "store": "paris-1" } });
    log(&app, &advisor.token, &claire, visit.clone()).await;
    log(&app, &advisor.token, &claire, visit.clone()).await;
    log(&app, &tokyo.token, &kenji, json!({ "channel": "action", "context": "store_visit", "metadata": { "store": "tokyo-1" } })).await;
    log(&app, &tokyo.token, &kenji, share()).await;
    assert_eq!(deliver_all(&app).await, 0);

    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let rule = json!({
        "activity": "interaction",
        "where": { "property": "context", "op": "eq", "value": "store_visit" },
        "count": { "gte": 2 },
        "within": { "days": 30 },
    });
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/segments/preview"))
        .bearer_auth(&marketer)
        .json(&json!({ "rule": rule }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(answer["sample"][0]["id"], claire, "{answer}");
}

#[tokio::test]
async fn with_the_job_runner_a_write_is_enriched_mirrored_and_on_the_crm_timeline() {
    let app =
        crate::helpers::spawn_sandboxed_app_with(crate::helpers::Sandboxed::new().jobs()).await;
    let advisor = paris(&app).await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);

    let shown = crate::helpers::eventually(60, "enriched and mirrored", || async {
        let shown = super::follow::read(&app, &advisor.token, &id).await;
        (shown["enrichment_status"] == "enriched" && shown["mirror"]["status"] == "mirrored")
            .then_some(shown)
    })
    .await;
    assert_eq!(shown["enrichment"]["client"]["name"], "Claire Dupont");
    let tasks: Vec<Value> = app
        .sandbox()
        .salesforce_records("Task")
        .await
        .into_iter()
        .filter(|task| task["Concierge_Interaction_Id__c"] == id)
        .collect();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["Id"], shown["mirror"]["task_id"]);

    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    crate::helpers::eventually(60, "the CRM activity", || async {
        let (status, page) = activities(&app, &marketer, "maison", &claire).await;
        (status == 200 && kinds(&page) == ["interaction"]).then_some(())
    })
    .await;
}
