//! Listing subscriptions, one subscription, and its SIM line.

use serde_json::json;

use super::{get, get_json, post_sim, token_of, with_demo_customer};
use crate::helpers::{Sandboxed, customer_linked_to, problem, spawn_sandboxed_app_with};

#[tokio::test]
async fn the_list_shows_the_customers_services_with_their_prices_and_sim_numbers() {
    let (app, token) = with_demo_customer().await;

    let list = get_json(&app, &token, "/api/v1/subscriptions").await;

    let items = list["items"].as_array().expect("items");
    let ids: Vec<u64> = items
        .iter()
        .map(|s| s["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![501, 502]);
    let sim = &items[0];
    assert_eq!(sim["product_name"], "SIM Data 20GB");
    assert_eq!(sim["status"], "active");
    assert_eq!(sim["billing_cycle"], "monthly");
    assert_eq!(sim["next_due_date"], "2026-12-01");
    assert_eq!(sim["registered_on"], "2026-03-01");
    assert_eq!(
        sim["recurring_amount"],
        json!({ "amount": "2980", "currency": "JPY" })
    );
    assert_eq!(sim["phone_number"], "08012345678");
    assert_eq!(items[1]["phone_number"], json!(null));
    app.stop().await;
}

#[tokio::test]
async fn one_subscription_reads_like_its_list_entry() {
    let (app, token) = with_demo_customer().await;

    let list = get_json(&app, &token, "/api/v1/subscriptions").await;
    let one = get_json(&app, &token, "/api/v1/subscriptions/502").await;

    assert_eq!(one, list["items"][1]);
    let bad = get(&app, &token, "/api/v1/subscriptions/abc").await;
    assert_eq!(bad.status(), 400);
    problem(bad).await;
    let absent = get(&app, &token, "/api/v1/subscriptions/999999").await;
    assert_eq!(absent.status(), 404);
    problem(absent).await;
    app.stop().await;
}

#[tokio::test]
async fn the_sim_line_shows_number_plan_status_and_this_months_data() {
    let (app, token) = with_demo_customer().await;

    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;

    assert_eq!(sim["subscription_id"], 501);
    assert_eq!(sim["phone_number"], "08012345678");
    assert_eq!(sim["iccid"], "8981100000000000001");
    assert_eq!(sim["eid"], json!(null));
    assert_eq!(sim["plan_code"], "DATA_20GB");
    assert_eq!(sim["status"], "active");
    assert_eq!(sim["data"]["used_mb"], 7340);
    assert_eq!(sim["data"]["quota_mb"], 20480);
    assert_eq!(sim["data"]["remaining_mb"], 13140);
    assert_eq!(sim["pending_plan_change"], json!(null));
    app.stop().await;
}

#[tokio::test]
async fn an_esim_line_shows_its_eid() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let emma = token_of(&customer_linked_to(&app, 2).await);

    let sim = get_json(&app, &emma, "/api/v1/subscriptions/504/sim").await;

    assert_eq!(sim["phone_number"], "08098761234");
    assert_eq!(sim["eid"], "89049032000001000000000000000001");
    assert_eq!(sim["plan_code"], "VOICE_20GB");
    assert_eq!(sim["data"]["used_mb"], 15800);
    app.stop().await;
}

#[tokio::test]
async fn a_service_without_a_sim_has_no_sim_line() {
    let (app, token) = with_demo_customer().await;

    let response = get(&app, &token, "/api/v1/subscriptions/502/sim").await;
    assert_eq!(response.status(), 404);
    let body = problem(response).await;
    assert_eq!(body["detail"], "This subscription has no SIM.");

    let change = post_sim(&app, &token, "502", "suspend", Some("k-502"), None).await;
    assert_eq!(change.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn another_customers_subscription_is_not_found_anywhere() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let demo = token_of(&crate::helpers::demo_customer(&app).await);
    let taro = token_of(&customer_linked_to(&app, 1).await);

    let taros = get_json(&app, &taro, "/api/v1/subscriptions").await;
    let ids: Vec<u64> = taros["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![503]);

    for path in ["/api/v1/subscriptions/501", "/api/v1/subscriptions/501/sim"] {
        let response = get(&app, &taro, path).await;
        assert_eq!(response.status(), 404, "{path}");
        problem(response).await;
    }
    let response = get(&app, &demo, "/api/v1/subscriptions/503").await;
    assert_eq!(response.status(), 404);
    for action in ["suspend", "resume"] {
        let key = format!("taro-{action}");
        let response = post_sim(&app, &taro, "501", action, Some(&key), None).await;
        assert_eq!(response.status(), 404, "{action}");
    }
    let top_up = post_sim(
        &app,
        &taro,
        "501",
        "top-ups",
        Some("taro-2"),
        Some(json!({ "quota_mb": 100 })),
    )
    .await;
    assert_eq!(top_up.status(), 404);
    // The demo customer's line is untouched.
    let sim = get_json(&app, &demo, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "active");
    assert_eq!(sim["data"]["quota_mb"], 20480);
    app.stop().await;
}

#[tokio::test]
async fn every_endpoint_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;

    for path in [
        "/api/v1/subscriptions",
        "/api/v1/subscriptions/501",
        "/api/v1/subscriptions/501/sim",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status(), 401, "{path}");
        problem(response).await;
    }
    for action in ["top-ups", "plan-changes", "suspend", "resume"] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/subscriptions/501/sim/{action}")))
            .header("Idempotency-Key", "k")
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{action}");
    }
    app.stop().await;
}
