//! Brands and stores: the admin API, and the rule that staff belong to brands and stores that exist.

use serde_json::{Value, json};

use crate::helpers::{admin_token, marketer_token, problem, spawn_app, staff, token_of};

async fn post(
    app: &crate::helpers::TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn brand_body(slug: &str) -> Value {
    json!({ "slug": slug, "name": "Maison Nouvelle", "timezone": "Europe/Paris",
            "default_locale": "fr-FR", "currency": "eur" })
}

#[tokio::test]
async fn an_admin_creates_lists_and_reads_brands_and_a_slug_is_taken_once() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "root@example.com").await;

    let created = post(&app, &admin, "/api/v1/admin/brands", brand_body("nouvelle")).await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers()["location"],
        "/api/v1/admin/brands/nouvelle"
    );
    let brand: Value = created.json().await.unwrap();
    assert_eq!(brand["slug"], "nouvelle");
    assert_eq!(brand["currency"], "EUR", "currency codes are upper-cased");

    let again = post(&app, &admin, "/api/v1/admin/brands", brand_body("nouvelle")).await;
    assert_eq!(again.status(), 409);
    assert!(
        problem(again).await["type"]
            .as_str()
            .unwrap()
            .ends_with("/brand-exists")
    );

    let read: Value =
        crate::helpers::get_json_as(&app, &admin, "/api/v1/admin/brands/nouvelle").await;
    assert_eq!(read["id"], brand["id"]);

    // The demo brands (atelier, maison, mobile) plus the new one, by slug, one page of two then the rest.
    let first: Value =
        crate::helpers::get_json_as(&app, &admin, "/api/v1/admin/brands?limit=2").await;
    let slugs: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["atelier", "maison"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value = crate::helpers::get_json_as(
        &app,
        &admin,
        &format!("/api/v1/admin/brands?limit=2&cursor={cursor}"),
    )
    .await;
    let slugs: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["mobile", "nouvelle"]);
    assert!(rest["next_cursor"].is_null());

    let bad_cursor = crate::helpers::get_as(&app, &admin, "/api/v1/admin/brands?cursor=%%%").await;
    assert_eq!(bad_cursor.status(), 400);
    let missing = crate::helpers::get_as(&app, &admin, "/api/v1/admin/brands/nowhere").await;
    assert_eq!(missing.status(), 404);
    problem(missing).await;
}

#[tokio::test]
async fn brand_fields_are_validated_and_nothing_is_created_on_a_bad_request() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "root@example.com").await;
    let bad = json!({ "slug": "Bad Slug", "name": " ", "timezone": "Mars/Olympus_Mons",
                      "default_locale": "french", "currency": "euro" });
    let response = post(&app, &admin, "/api/v1/admin/brands", bad).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["currency", "default_locale", "name", "slug", "timezone"]
    );

    let unknown_zone = post(
        &app,
        &admin,
        "/api/v1/admin/brands",
        json!({ "slug": "ok", "name": "Ok", "timezone": "Europe/Atlantis", "default_locale": "fr",
                "currency": "EUR" }),
    )
    .await;
    assert_eq!(
        unknown_zone.status(),
        422,
        "a well-formed zone the database does not know"
    );
    let unknown_field = post(
        &app,
        &admin,
        "/api/v1/admin/brands",
        json!({ "slug": "ok", "name": "Ok", "timezone": "Europe/Paris", "default_locale": "fr",
                "currency": "EUR", "owner": "me" }),
    )
    .await;
    assert_eq!(unknown_field.status(), 422);
    let brands: Value = crate::helpers::get_json_as(&app, &admin, "/api/v1/admin/brands").await;
    assert_eq!(
        brands["items"].as_array().unwrap().len(),
        3,
        "only the demo brands"
    );
}

#[tokio::test]
async fn only_admins_reach_the_brand_admin_api() {
    let app = spawn_app().await;
    let marketer = marketer_token(&app, "marketer@maison.example", "maison").await;
    for path in ["/api/v1/admin/brands", "/api/v1/admin/brands/maison/stores"] {
        assert_eq!(app.get(path).await.status(), 401, "{path} anonymous");
        let response = crate::helpers::get_as(&app, &marketer, path).await;
        assert_eq!(response.status(), 403, "{path} as a marketer");
        problem(response).await;
    }
    let created = post(&app, &marketer, "/api/v1/admin/brands", brand_body("mine")).await;
    assert_eq!(created.status(), 403);
}

#[tokio::test]
async fn an_admin_adds_stores_to_a_brand_with_codes_unique_per_brand() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "root@example.com").await;
    let store = json!({ "code": "lyon-1", "name": "Maison Lyon", "country": "FR" });
    let created = post(
        &app,
        &admin,
        "/api/v1/admin/brands/maison/stores",
        store.clone(),
    )
    .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["brand"], "maison");
    assert_eq!(
        body["timezone"], "Europe/Paris",
        "the brand's zone by default"
    );

    let again = post(
        &app,
        &admin,
        "/api/v1/admin/brands/maison/stores",
        store.clone(),
    )
    .await;
    assert_eq!(again.status(), 409);
    let elsewhere = post(
        &app,
        &admin,
        "/api/v1/admin/brands/atelier/stores",
        store.clone(),
    )
    .await;
    assert_eq!(elsewhere.status(), 201, "another brand may reuse the code");
    let no_brand = post(&app, &admin, "/api/v1/admin/brands/nowhere/stores", store).await;
    assert_eq!(no_brand.status(), 404);
    let bad = post(
        &app,
        &admin,
        "/api/v1/admin/brands/maison/stores",
        json!({ "code": "x_1", "name": "X", "country": "fr", "timezone": "Nowhere/City" }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let fields: Vec<String> = problem(bad).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields.len(), 3, "code, country and timezone: {fields:?}");

    let stores: Value =
        crate::helpers::get_json_as(&app, &admin, "/api/v1/admin/brands/maison/stores").await;
    let codes: Vec<&str> = stores["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["lyon-1", "paris-1", "tokyo-1"]);
}

#[tokio::test]
async fn staff_belong_to_a_brand_and_stores_that_exist() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "root@example.com").await;
    let create = |brand: Value, stores: Value, email: &str| {
        json!({ "email": email, "password": "a-long-and-unusual-passphrase", "first_name": "Claire",
                "last_name": "Martin", "roles": ["client_advisor"], "brand_id": brand, "store_ids": stores })
    };
    for (brand, stores, field) in [
        (json!("nowhere"), json!([]), "brand_id"),
        (json!("maison"), json!(["milan-1"]), "store_ids"),
        (json!(null), json!(["paris-1"]), "store_ids"),
    ] {
        let response = post(
            &app,
            &admin,
            "/api/v1/admin/users",
            create(brand.clone(), stores, "x@maison.example"),
        )
        .await;
        assert_eq!(response.status(), 422, "{brand}");
        let body = problem(response).await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let ok = post(
        &app,
        &admin,
        "/api/v1/admin/users",
        create(json!("maison"), json!(["tokyo-1"]), "ok@maison.example"),
    )
    .await;
    assert_eq!(ok.status(), 201);
    let id = ok.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Moving the advisor to another brand while keeping Maison's store is refused, and changes nothing.
    let moved = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({ "brand_id": "atelier" }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 422);
    let login = staff(&app, "probe@example.com", "admin", None, &[]).await;
    let users: Value =
        crate::helpers::get_json_as(&app, &token_of(&login), "/api/v1/admin/users?kind=staff")
            .await;
    let advisor = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(advisor["brand_id"], "maison");
}

#[tokio::test]
async fn a_brand_unknown_a_moment_ago_is_reachable_as_soon_as_it_is_created() {
    // Brands are cached in the process; an unknown slug must not be, or a new brand would stay a 404.
    let app = spawn_app().await;
    let admin = admin_token(&app, "root@example.com").await;
    let path = "/api/v1/brands/nouvelle/crm/profiles";
    let before = crate::helpers::get_as(&app, &admin, path).await;
    assert_eq!(before.status(), 404);
    let created = post(&app, &admin, "/api/v1/admin/brands", brand_body("nouvelle")).await;
    assert_eq!(created.status(), 201);
    let after = crate::helpers::get_as(&app, &admin, path).await;
    assert_eq!(after.status(), 200);
    let again = crate::helpers::get_as(&app, &admin, path).await;
    assert_eq!(again.status(), 200, "served from the cache");
}
