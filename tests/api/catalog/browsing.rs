//! Listing, filtering, paging and reading products; authorization and validation.

use serde_json::{Value, json};

use super::{PORTAL_PRODUCTS, customer_token, get, get_json, mentions_whmcs, skus};
use crate::helpers::{problem, spawn_sandboxed_app};

#[tokio::test]
async fn the_catalog_lists_active_portal_products_with_prices_in_a_stable_order() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let page = get_json(&app, "/api/v1/catalog/products", &token).await;

    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), PORTAL_PRODUCTS);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["stale"], false);
    assert!(page["fetched_at"].as_str().is_some());
    let keys: Vec<(String, String, String)> = items
        .iter()
        .map(|item| {
            (
                item["family"].as_str().unwrap().to_owned(),
                item["name"].as_str().unwrap().to_owned(),
                item["sku"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|pair| pair[0] < pair[1]),
        "ordered by family, name, sku: {keys:?}"
    );
    let sim = items
        .iter()
        .find(|item| item["sku"] == "SIM-DATA-20GB")
        .unwrap();
    assert_eq!(sim["price"], json!({ "amount": "2980", "currency": "JPY" }));
    assert_eq!(sim["billing_cycle"], "monthly");
    assert_eq!(sim["family"], "SIM");
    assert_eq!(
        sim["sim"],
        json!({ "data_size": "20GB", "plan_type": "DATA_20GB" })
    );
    let fiber = items.iter().find(|item| item["sku"] == "FIBER-1G").unwrap();
    assert_eq!(fiber["sim"], Value::Null);
}

#[tokio::test]
async fn hidden_and_inactive_products_are_never_shown() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let page = get_json(&app, "/api/v1/catalog/products?limit=100", &token).await;
    let listed = skus(&page);
    let hidden = get(&app, "/api/v1/catalog/products/LEGACY-ADSL", &token).await;
    let inactive = get(&app, "/api/v1/catalog/products/SIM-DATA-1GB", &token).await;

    assert!(!listed.contains(&"LEGACY-ADSL".to_owned()));
    assert!(!listed.contains(&"SIM-DATA-1GB".to_owned()));
    assert_eq!(hidden.status(), 404);
    assert_eq!(problem(hidden).await["code"], "not-found");
    assert_eq!(inactive.status(), 404);
}

#[tokio::test]
async fn the_whmcs_product_id_never_reaches_clients() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let page = get_json(&app, "/api/v1/catalog/products", &token).await;
    let detail = get_json(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &token).await;

    assert!(!mentions_whmcs(&page), "{page}");
    assert!(!mentions_whmcs(&detail), "{detail}");
    let product = concierge::catalog::find_by_sku(&app.state.catalog, "SIM-DATA-20GB")
        .await
        .unwrap()
        .expect("the orders context finds the product");
    assert_eq!(product.whmcs_product_id, 103, "kept for the orders context");
    assert_eq!(product.price.amount.to_string(), "2980");
    assert!(
        concierge::catalog::find_by_sku(&app.state.catalog, "LEGACY-ADSL")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        concierge::catalog::find_by_sku(&app.state.catalog, "not a sku")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn products_can_be_filtered_by_family_case_insensitively() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let sims = get_json(&app, "/api/v1/catalog/products?family=SIM", &token).await;
    let lower = get_json(&app, "/api/v1/catalog/products?family=sim", &token).await;
    let none = get_json(&app, "/api/v1/catalog/products?family=Satellite", &token).await;

    let items = sims["items"].as_array().unwrap();
    assert_eq!(items.len(), 8, "eight active SIM products");
    assert!(items.iter().all(|item| item["family"] == "SIM"));
    assert_eq!(skus(&sims), skus(&lower));
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["next_cursor"], Value::Null);
}

#[tokio::test]
async fn pages_follow_each_other_through_the_cursor_without_gaps_or_repeats() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;
    let everything = skus(&get_json(&app, "/api/v1/catalog/products", &token).await);

    let mut paged = Vec::new();
    let mut path = "/api/v1/catalog/products?limit=5".to_owned();
    let mut pages = 0;
    loop {
        let page = get_json(&app, &path, &token).await;
        pages += 1;
        let items = skus(&page);
        assert!(items.len() <= 5);
        paged.extend(items);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/catalog/products?limit=5&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(pages, 4, "18 products in pages of 5");
    assert_eq!(paged, everything);

    let first = get_json(&app, "/api/v1/catalog/products?family=SIM&limit=3", &token).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get_json(
        &app,
        &format!("/api/v1/catalog/products?family=SIM&limit=3&cursor={cursor}"),
        &token,
    )
    .await;
    let sims = skus(&get_json(&app, "/api/v1/catalog/products?family=SIM", &token).await);
    assert_eq!([skus(&first), skus(&second)].concat(), sims[..6].to_vec());
}

#[tokio::test]
async fn a_product_is_read_by_its_sku() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let sim = get(&app, "/api/v1/catalog/products/SIM-DATA-20GB", &token).await;
    assert_eq!(sim.status(), 200);
    assert!(sim.headers().get("x-catalog-stale").is_none());
    let sim: Value = sim.json().await.unwrap();
    let annual = get_json(&app, "/api/v1/catalog/products/ANNUAL-SUPPORT", &token).await;
    let roaming = get_json(&app, "/api/v1/catalog/products/INTL-ROAM-7D", &token).await;

    assert_eq!(sim["sku"], "SIM-DATA-20GB");
    assert_eq!(sim["name"], "SIM Data 20GB");
    assert_eq!(sim["description"], "SIM Data 20GB");
    assert_eq!(sim["price"], json!({ "amount": "2980", "currency": "JPY" }));
    assert_eq!(sim["sim"]["plan_type"], "DATA_20GB");
    assert_eq!(sim["stale"], false);
    assert_eq!(annual["billing_cycle"], "annually");
    assert_eq!(annual["price"]["amount"], "12000");
    assert_eq!(roaming["billing_cycle"], "one_time");
}

#[tokio::test]
async fn an_unknown_or_malformed_sku_is_a_problem() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    let unknown = get(&app, "/api/v1/catalog/products/SIM-DATA-99GB", &token).await;
    let malformed = get(&app, "/api/v1/catalog/products/not%20a%20sku", &token).await;
    let too_long = get(
        &app,
        &format!("/api/v1/catalog/products/{}", "A".repeat(65)),
        &token,
    )
    .await;

    assert_eq!(unknown.status(), 404);
    assert_eq!(problem(unknown).await["code"], "not-found");
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "invalid-path-parameter");
    assert_eq!(too_long.status(), 400);
}

#[tokio::test]
async fn the_catalog_is_for_signed_in_customers() {
    let app = spawn_sandboxed_app().await;
    let admin = crate::auth::admin(&app, "admin@concierge.test").await;
    let admin_token = admin["access_token"].as_str().unwrap();

    let anonymous_list = app
        .client
        .get(app.url("/api/v1/catalog/products"))
        .send()
        .await
        .unwrap();
    let anonymous_detail = app
        .client
        .get(app.url("/api/v1/catalog/products/SIM-DATA-20GB"))
        .send()
        .await
        .unwrap();
    let forged = get(&app, "/api/v1/catalog/products", "not-a-token").await;
    let staff = get(&app, "/api/v1/catalog/products", admin_token).await;
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/catalog/products/SIM-DATA-20GB"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();

    assert_eq!(anonymous_list.status(), 401);
    assert_eq!(problem(anonymous_list).await["code"], "unauthorized");
    assert_eq!(anonymous_detail.status(), 401);
    assert_eq!(forged.status(), 401);
    assert_eq!(staff.status(), 403, "the catalog is the customers' portal");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        app.sandbox().salesforce_queries(),
        0,
        "nothing read for refused requests"
    );
}

#[tokio::test]
async fn bad_limits_families_and_cursors_are_field_errors() {
    let app = spawn_sandboxed_app().await;
    let token = customer_token(&app).await;

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("family=", "family"),
        ("family=%20%20", "family"),
        (&format!("family={}", "F".repeat(81)), "family"),
        ("family=S%07IM", "family"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=WyJ4Il0", "cursor"),
        (&format!("cursor={}", "A".repeat(2000)), "cursor"),
    ] {
        let response = get(&app, &format!("/api/v1/catalog/products?{query}"), &token).await;
        assert_eq!(response.status(), 422, "{query}");
        let body = problem(response).await;
        assert_eq!(body["code"], "validation-failed", "{query}");
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
    for query in ["limit=abc", "limit=-1", "limit=100000", "colour=red"] {
        let response = get(&app, &format!("/api/v1/catalog/products?{query}"), &token).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            problem(response).await["code"],
            "invalid-query-parameter",
            "{query}"
        );
    }
    let both = get(&app, "/api/v1/catalog/products?limit=0&cursor=x", &token).await;
    assert_eq!(problem(both).await["errors"].as_array().unwrap().len(), 2);
}
