//! Review (atk15): the catalogue sync, interactions' metadata, the event store and CRM activities under
//! hostile or unlucky conditions.

use reqwest::Method;
use serde_json::{Value, json};

use super::activities::{activities, deliver_all};
use super::catalogue_sync::sync;
use super::fixtures::{CLIENTS, client, id_of, paris, send};
use super::follow::{INTERACTIONS, log, share};
use crate::helpers::{marketer_token, spawn_app, spawn_sandboxed_app};

fn visit(store: &str) -> Value {
    json!({
        "channel": "action", "context": "store_visit",
        "metadata": { "store": store, "duration_minutes": 30, "purchased": false }
    })
}

#[tokio::test]
async fn a_store_visit_names_a_store_of_the_brand() {
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
    let path = format!("{CLIENTS}/{claire}/interactions");
    // A store that does not exist, and a store of another brand.
    for store in ["nowhere-9", "milan-1", "PARIS-1"] {
        let response = send(
            &app,
            Method::POST,
            Some(&advisor.token),
            &path,
            Some(visit(store)),
        )
        .await;
        assert_eq!(response.status(), 422, "{store}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "metadata.store", "{problem}");
    }
    // A store of the brand, the advisor's or another one the client visited.
    for store in ["paris-1", "tokyo-1"] {
        let response = send(
            &app,
            Method::POST,
            Some(&advisor.token),
            &path,
            Some(visit(store)),
        )
        .await;
        assert_eq!(response.status(), 201, "{store}");
    }
    let logged = log(&app, &advisor.token, &claire, visit("paris-1")).await;
    let response = app
        .client
        .patch(app.url(&format!("{INTERACTIONS}/{}", id_of(&logged))))
        .bearer_auth(&advisor.token)
        .header("If-Match", "\"1\"")
        .json(&json!({ "metadata": { "store": "london-1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "metadata.store", "{problem}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM clienteling_interactions WHERE metadata->>'store' NOT IN ('paris-1', 'tokyo-1')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn the_interaction_history_cannot_be_truncated() {
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
    let truncated = sqlx::query("TRUNCATE clienteling_interaction_events")
        .execute(&app.db)
        .await;
    assert!(truncated.is_err(), "the append-only history was truncated");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM clienteling_interaction_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn an_absorbed_clients_interactions_reach_the_survivors_crm_timeline() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let survivor = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Ann",
            "Old",
            "ann.old@example.com",
        )
        .await,
    );
    let absorbed = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Ann",
            "New",
            "ann.new@example.com",
        )
        .await,
    );
    // One delivered before the merge, one written before and delivered after, one written after.
    log(&app, &advisor.token, &absorbed, share()).await;
    assert_eq!(deliver_all(&app).await, 0);
    log(&app, &advisor.token, &absorbed, visit("paris-1")).await;
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/merges",
        Some(json!({"survivor_id": survivor, "absorbed_ids": [absorbed]})),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    log(&app, &advisor.token, &absorbed, visit("tokyo-1")).await;
    assert_eq!(deliver_all(&app).await, 0);

    let (status, page) = activities(&app, &marketer, "maison", &survivor).await;
    assert_eq!(status, 200, "{page}");
    let interactions: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "interaction")
        .collect();
    assert_eq!(interactions.len(), 3, "{page}");
    let profiles: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT profile_id::text FROM crm_activities WHERE type = 'interaction'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(profiles, [survivor]);
}

#[tokio::test]
async fn a_sku_swapped_between_two_products_is_taken_in() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let products = app.sandbox().salesforce_records("Product2").await;
    let id_of_sku = |sku: &str| {
        products.iter().find(|p| p["ProductCode"] == sku).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b) = ("MA-PORT-ZIPPY-NOIR", "MA-BAGUE-EMPR-OR");
    let (first, second) = (id_of_sku(a), id_of_sku(b));
    app.salesforce
        .update("Product2", &first, &json!({ "ProductCode": b }))
        .await
        .unwrap();
    app.salesforce
        .update("Product2", &second, &json!({ "ProductCode": a }))
        .await
        .unwrap();
    let run = sync(&app, "maison").await.unwrap();
    assert_eq!(run.skipped, 0, "{run:?}");
    let sku_of = |id: String| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT sku FROM clienteling_products WHERE salesforce_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert_eq!(sku_of(first.clone()).await, b);
    assert_eq!(sku_of(second.clone()).await, a);
    // And a SKU moved from one product to another, the taker changed first (both in one run).
    let (holder, taker) = (id_of_sku("MA-CAP-MM-NOIR"), id_of_sku("MA-ALM-PM-MONO"));
    app.salesforce
        .update(
            "Product2",
            &taker,
            &json!({ "ProductCode": "MA-CAP-MM-NOIR" }),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.salesforce
        .update(
            "Product2",
            &holder,
            &json!({ "ProductCode": "MA-CAP-MM-NOIR-OLD" }),
        )
        .await
        .unwrap();
    let moved = sync(&app, "maison").await.unwrap();
    assert_eq!(moved.skipped, 0, "{moved:?}");
    assert_eq!(sku_of(holder).await, "MA-CAP-MM-NOIR-OLD");
    assert_eq!(sku_of(taker).await, "MA-CAP-MM-NOIR");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_tampered_cursor_is_a_bad_request_never_a_server_error() {
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
    let products = "/api/v1/brands/maison/clienteling/products";
    // A product cursor whose SKU holds a NUL (which PostgreSQL text cannot), with and without `q`.
    let nul_sku = b64(br#"{"k":"ma\u0000"}"#);
    let nul_scored = b64(br#"{"s":1065353216,"k":"ma\u0000"}"#);
    // A timeline cursor at a time PostgreSQL cannot hold (200,000 years BC).
    let ancient = format!(
        "{}.{}",
        b64(&(-6_311_390_400_000_000_000_i64).to_be_bytes()),
        b64(uuid::Uuid::now_v7().as_bytes())
    );
    for path in [
        format!("{products}?cursor={nul_sku}"),
        format!("{products}?q=sac&cursor={nul_scored}"),
        format!("{CLIENTS}/{claire}/interactions?cursor={ancient}"),
    ] {
        let response = crate::helpers::get_as(&app, &advisor.token, &path).await;
        assert_eq!(
            response.status(),
            400,
            "{path}: {:?}",
            response.text().await
        );
    }
}

fn interaction_ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_survivors_timeline_shows_the_absorbed_clients_interactions_within_the_callers_reach() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let tokyo = super::fixtures::tokyo(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let survivor = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Ann",
            "Old",
            "ann.old@example.com",
        )
        .await,
    );
    let absorbed = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Ann",
            "New",
            "ann.new@example.com",
        )
        .await,
    );
    let elsewhere = id_of(
        &client(
            &app,
            &tokyo.token,
            "tokyo-1",
            "Ann",
            "Tokyo",
            "ann.tokyo@example.com",
        )
        .await,
    );
    let own = id_of(&log(&app, &advisor.token, &survivor, share()).await);
    let theirs = id_of(&log(&app, &advisor.token, &absorbed, visit("paris-1")).await);
    let tokyos = id_of(&log(&app, &tokyo.token, &elsewhere, visit("tokyo-1")).await);
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/merges",
        Some(json!({"survivor_id": survivor, "absorbed_ids": [absorbed, elsewhere]})),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);

    // The same person: the paris advisor sees both paris files on the survivor's timeline, not tokyo's
    // (a book out of their reach), paged like any timeline.
    let page = crate::helpers::get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}/{survivor}/interactions"),
    )
    .await;
    let mut expected = vec![own.clone(), theirs.clone()];
    expected.sort();
    assert_eq!(interaction_ids(&page), expected, "{page}");
    let first = crate::helpers::get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}/{survivor}/interactions?limit=1"),
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = crate::helpers::get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}/{survivor}/interactions?limit=1&cursor={cursor}"),
    )
    .await;
    let mut paged = [interaction_ids(&first), interaction_ids(&second)].concat();
    paged.sort();
    assert_eq!(paged, expected);
    assert!(second["next_cursor"].is_null(), "{second}");
    // An admin reaches the whole brand, tokyo's file too.
    let admin = crate::helpers::admin_token(&app, "admin@concierge.example").await;
    let page = crate::helpers::get_json_as(
        &app,
        &admin,
        &format!("/api/v1/brands/maison/clienteling/clients/{survivor}/interactions"),
    )
    .await;
    let mut all = vec![own, theirs, tokyos];
    all.sort();
    assert_eq!(interaction_ids(&page), all, "{page}");
}

#[tokio::test]
async fn a_sync_whose_worker_died_on_its_last_attempt_does_not_block_the_brand_for_ever() {
    let app = spawn_sandboxed_app().await;
    let manager = super::fixtures::person(
        &app,
        "manager@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let sync_path = "/api/v1/brands/maison/clienteling/products/sync";
    let response = send(&app, Method::POST, Some(&manager.token), sync_path, None).await;
    assert_eq!(response.status(), 202);
    let first: Value = response.json().await.unwrap();
    // Its worker started it (`running`, as `runs::start` leaves it) and died: the process (and the session
    // holding the brand's sync lock) gone, its last attempt used, so no retry will ever finish it.
    sqlx::query(
        "UPDATE clienteling_catalogue_runs SET status = 'running', attempts = 8 WHERE id = $1",
    )
    .bind(first["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .execute(&app.db)
    .await
    .unwrap();
    let response = send(&app, Method::POST, Some(&manager.token), sync_path, None).await;
    assert_eq!(response.status(), 202);
    let second: Value = response.json().await.unwrap();
    assert_ne!(
        second["id"], first["id"],
        "the dead run answers every request: {second}"
    );
    let old = crate::helpers::get_json_as(
        &app,
        &manager.token,
        &format!("{sync_path}/{}", first["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(old["status"], "failed", "{old}");
    // A run that is really running (its worker holds the lock) is the one answered.
    let brand = super::catalogue_sync::brand_id(&app, "maison").await;
    let mut holder = app.db.acquire().await.unwrap();
    sqlx::query(
        "SELECT pg_advisory_lock(hashtextextended('clienteling.catalogue:' || $1::text, 0))",
    )
    .bind(brand.to_string())
    .execute(&mut *holder)
    .await
    .unwrap();
    sqlx::query("UPDATE clienteling_catalogue_runs SET status = 'running' WHERE id = $1")
        .bind(
            second["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        )
        .execute(&app.db)
        .await
        .unwrap();
    let response = send(&app, Method::POST, Some(&manager.token), sync_path, None).await;
    let third: Value = response.json().await.unwrap();
    assert_eq!(third["id"], second["id"], "{third}");
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *holder)
        .await
        .unwrap();
}
