//! `POST/GET/PATCH …/clienteling/clients[/{id}]`: a client is the CRM profile of its brand, reached only
//! within the caller's scope.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, code, customer_token, id_of, paris, person, send, tokyo};
use crate::helpers::{get_as, marketer_token, problem, spawn_app, token_of};

#[tokio::test]
async fn a_client_is_the_crm_profile_their_email_leads_to_and_is_created_once() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let marketer = marketer_token(&app, "mk@maison.example", "maison").await;
    // The marketers knew this person before the advisor met her.
    let known = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/profiles",
        Some(json!({
            "identifiers": [{ "kind": "email", "value": "jeanne@example.com" }],
            "attributes": { "city": "Lyon" }
        })),
    )
    .await;
    assert_eq!(known.status(), 201);
    let known: Value = known.json().await.unwrap();
    let profile_id = known["profile"]["id"].as_str().unwrap().to_owned();

    let response = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        CLIENTS,
        Some(json!({
            "attributes": { "first_name": "Jeanne", "last_name": "Moreau", "email": "Jeanne@Example.com", "tier": "gold", "tags": ["vip"] },
            "store": "paris-1",
            "preferences": { "sizes": { "shoes": "38" }, "colours": ["navy"], "materials": ["cashmere"], "categories": ["bags"] },
            "important_dates": [{ "label": "Wedding anniversary", "date": "2015-06-14" }],
            "notes": "Prefers morning visits."
        })),
    )
    .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        created["id"],
        profile_id.as_str(),
        "the existing CRM profile"
    );
    assert_eq!(location, format!("{CLIENTS}/{profile_id}"));
    assert_eq!(created["store"], "paris-1");
    assert_eq!(
        created["profile"]["attributes"]["city"], "Lyon",
        "the CRM's data stays"
    );
    assert_eq!(created["profile"]["attributes"]["first_name"], "Jeanne");
    assert_eq!(created["profile"]["attributes"]["tier"], "gold");
    assert_eq!(created["preferences"]["sizes"]["shoes"], "38");
    assert_eq!(created["important_dates"][0]["date"], "2015-06-14");
    assert_eq!(created["notes"], "Prefers morning visits.");
    assert_eq!(created["advisors"][0]["role"], "primary");
    assert_eq!(created["advisors"][0]["advisor_id"], advisor.id.to_string());

    // The marketers see the same person, with what the advisor learned.
    let profile: Value = get_as(
        &app,
        &marketer,
        &format!("/api/v1/brands/maison/crm/profiles/{profile_id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(profile["attributes"]["last_name"], "Moreau");

    let read: Value = get_as(&app, &advisor.token, &location)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["id"], profile_id.as_str());

    // The same person again: refused, and nothing of the second request stays.
    let again = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        CLIENTS,
        Some(json!({ "attributes": { "first_name": "Overwritten", "email": "jeanne@example.com" }, "store": "paris-1" })),
    )
    .await;
    assert_eq!(again.status(), 409);
    let again = problem(again).await;
    assert_eq!(code(&again), "client-exists");
    assert!(again["detail"].as_str().unwrap().contains(&profile_id));
    let read: Value = get_as(&app, &advisor.token, &location)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["profile"]["attributes"]["first_name"], "Jeanne");

    // Another store's advisor learns only that the person is someone's client, not whose.
    let other = tokyo(&app).await;
    let theirs = send(
        &app,
        Method::POST,
        Some(&other.token),
        CLIENTS,
        Some(json!({ "attributes": { "first_name": "J", "email": "jeanne@example.com" }, "store": "tokyo-1" })),
    )
    .await;
    assert_eq!(theirs.status(), 409);
    assert!(
        !problem(theirs).await["detail"]
            .as_str()
            .unwrap()
            .contains(&profile_id)
    );
}

#[tokio::test]
async fn another_stores_and_another_brands_clients_are_not_found_and_outsiders_are_refused() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let ours = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let path = format!("{CLIENTS}/{ours}");
    let other_store = tokyo(&app).await;
    let other_brand = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let tokyo_manager = person(
        &app,
        "mgr.tokyo@maison.example",
        "manager",
        Some("maison"),
        &["tokyo-1"],
    )
    .await;
    let admin =
        token_of(&crate::helpers::staff(&app, "root@example.com", "admin", None, &[]).await);
    let marketer = marketer_token(&app, "mk@maison.example", "maison").await;
    let customer = customer_token(&app, "cleo@example.com").await;
    let patch = json!({ "notes": "intruder" });

    for (who, token) in [
        ("another store's advisor", &other_store.token),
        ("another store's manager", &tokyo_manager.token),
    ] {
        for (method, body) in [(Method::GET, None), (Method::PATCH, Some(patch.clone()))] {
            let response = send(&app, method.clone(), Some(token), &path, body).await;
            assert_eq!(response.status(), 404, "{method} as {who}");
            assert_eq!(code(&problem(response).await), "not-found");
        }
    }
    // Another brand: not under maison, and not under their own brand either.
    let response = send(&app, Method::GET, Some(&other_brand.token), &path, None).await;
    assert_eq!(response.status(), 404);
    let theirs = format!("/api/v1/brands/atelier/clienteling/clients/{ours}");
    let response = send(&app, Method::GET, Some(&other_brand.token), &theirs, None).await;
    assert_eq!(response.status(), 404);
    for (token, status) in [(None, 401), (Some(&marketer), 403), (Some(&customer), 403)] {
        for (method, body) in [(Method::GET, None), (Method::PATCH, Some(patch.clone()))] {
            let response = send(&app, method.clone(), token.map(String::as_str), &path, body).await;
            assert_eq!(response.status(), status, "{method} as {token:?}");
            problem(response).await;
        }
        let response = send(
            &app,
            Method::POST,
            token.map(String::as_str),
            CLIENTS,
            Some(json!({
                "attributes": { "first_name": "X" }, "store": "paris-1"
            })),
        )
        .await;
        assert_eq!(response.status(), status);
    }
    for token in [&manager.token, &admin] {
        assert_eq!(get_as(&app, token, &path).await.status(), 200);
    }
    // A whole-brand grant reaches every store's book.
    assert_eq!(
        get_as(&app, &tokyo_manager.token, &path).await.status(),
        404
    );
    let brand_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM brands WHERE slug = 'maison'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    concierge::clienteling::scope::grant_brand_wide(&mut conn, brand_id, tokyo_manager.id)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        get_as(&app, &tokyo_manager.token, &path).await.status(),
        200
    );
    // A grant is for managers: the same row for an advisor changes nothing.
    let mut conn = app.db.acquire().await.unwrap();
    concierge::clienteling::scope::grant_brand_wide(&mut conn, brand_id, other_store.id)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(get_as(&app, &other_store.token, &path).await.status(), 404);
    for missing in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let response = get_as(&app, &advisor.token, &format!("{CLIENTS}/{missing}")).await;
        assert_eq!(response.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn bad_client_input_is_a_problem_with_field_errors() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let long = "x".repeat(4001);
    let dates: Vec<Value> = (0..21)
        .map(|_| json!({ "label": "d", "date": "2020-01-01" }))
        .collect();
    for (body, field) in [
        (
            json!({ "attributes": { "email": "a@example.com" }, "store": "paris-1" }),
            "attributes.first_name",
        ),
        (
            json!({ "attributes": { "first_name": "A", "email": "nope" }, "store": "paris-1" }),
            "attributes.email",
        ),
        (
            json!({ "attributes": { "first_name": "A", "phone": "0612" }, "store": "paris-1" }),
            "attributes.phone",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "tokyo-1" }),
            "store",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "nowhere" }),
            "store",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "NOT A SLUG" }),
            "store",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "notes": long }),
            "notes",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "important_dates": dates }),
            "important_dates",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "important_dates": [{ "label": "", "date": "2020-01-01" }] }),
            "important_dates[0].label",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "preferences": { "colours": [""] } }),
            "preferences.colours",
        ),
        (
            json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "preferences": { "sizes": { "shoes": "" } } }),
            "preferences.sizes",
        ),
    ] {
        let response = send(
            &app,
            Method::POST,
            Some(&advisor.token),
            CLIENTS,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    for body in [
        json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "unknown": 1 }),
        json!({ "attributes": { "first_name": "A", "nickname": "x" }, "store": "paris-1" }),
        json!({ "attributes": { "first_name": "A" } }),
        json!({ "attributes": { "first_name": "A" }, "store": "paris-1", "important_dates": [{ "label": "x", "date": "not-a-date" }] }),
        json!([]),
    ] {
        let response = send(
            &app,
            Method::POST,
            Some(&advisor.token),
            CLIENTS,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(code(&problem(response).await), "validation-failed");
    }
    let response = app
        .client
        .post(app.url(CLIENTS))
        .bearer_auth(&advisor.token)
        .header("content-type", "application/json")
        .body("{\"attributes\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(code(&problem(response).await), "malformed-json");
    let id = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let path = format!("{CLIENTS}/{id}");
    for (body, field) in [
        (json!({ "store": "tokyo-1" }), "store"),
        (
            json!({ "attributes": { "email": "nope" } }),
            "attributes.email",
        ),
        (
            json!({ "preferences": { "materials": ["x".repeat(41)] } }),
            "preferences.materials",
        ),
    ] {
        let response = send(
            &app,
            Method::PATCH,
            Some(&advisor.token),
            &path,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
}

#[tokio::test]
async fn an_update_changes_the_profile_and_the_clienteling_layer_and_a_manager_moves_a_client() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let id = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    let path = format!("{CLIENTS}/{id}");
    let response = send(
        &app,
        Method::PATCH,
        Some(&advisor.token),
        &path,
        Some(json!({
            "attributes": { "tier": "platinum", "phone": "+33612345678", "tags": ["vip"] },
            "preferences": { "categories": ["watches"] },
            "important_dates": [{ "label": "Birthday of her son", "date": "2012-03-02" }],
            "notes": "Collects vintage watches.\nCall after 6pm."
        })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["profile"]["attributes"]["tier"], "platinum");
    assert_eq!(updated["profile"]["attributes"]["phone"], "+33612345678");
    assert_eq!(updated["preferences"]["categories"], json!(["watches"]));
    assert_eq!(
        updated["notes"],
        "Collects vintage watches.\nCall after 6pm."
    );
    assert_eq!(
        updated["profile"]["attributes"]["first_name"], "Anne",
        "absent fields stay"
    );

    // The advisor works in Paris only; a manager of both stores moves the client to Tokyo.
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let moved = send(
        &app,
        Method::PATCH,
        Some(&manager.token),
        &path,
        Some(json!({ "store": "tokyo-1" })),
    )
    .await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["store"], "tokyo-1");
    // Still the Paris advisor's client (assigned), though no longer in the Paris book.
    assert_eq!(get_as(&app, &advisor.token, &path).await.status(), 200);
    let tokyo_advisor = tokyo(&app).await;
    assert_eq!(
        get_as(&app, &tokyo_advisor.token, &path).await.status(),
        200
    );
    // Reached through the assignment only: the Paris advisor may not move the client back.
    let back = send(
        &app,
        Method::PATCH,
        Some(&advisor.token),
        &path,
        Some(json!({ "store": "paris-1" })),
    )
    .await;
    assert_eq!(back.status(), 422);
}
