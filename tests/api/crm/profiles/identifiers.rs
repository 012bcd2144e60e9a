//! `POST …/crm/profiles/{id}/identifiers` and `DELETE …/identifiers/{kind}/{value}`.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{assert_refused, code, merge_away, outsiders, profile, send};
use crate::helpers::{TestApp, marketer_token, problem, spawn_app};

const BASE: &str = "/api/v1/brands/maison/crm/profiles";

async fn add(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    kind: &str,
    value: &str,
) -> reqwest::Response {
    send(
        app,
        Method::POST,
        Some(token),
        &format!("{BASE}/{id}/identifiers"),
        Some(json!({ "kind": kind, "value": value })),
    )
    .await
}

#[tokio::test]
async fn identifiers_are_added_normalised_and_removed() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let id = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;

    let response = add(&app, &token, id, "email", "  Jane.Doe@Example.COM ").await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["identifiers"]
            .as_array()
            .unwrap()
            .contains(&json!({ "kind": "email", "value": "jane.doe@example.com" }))
    );
    let again = add(&app, &token, id, "email", "jane.doe@example.com").await;
    assert_eq!(again.status(), 200, "already held: nothing to do");
    let response = add(&app, &token, id, "phone", "+33 6 12 34 56 78").await;
    assert_eq!(response.status(), 201);

    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_events WHERE topic = 'crm.profile.updated' AND aggregate_id = $1")
        .bind(id.to_string())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 2);

    let remove = |kind: &'static str, value: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            send(
                app,
                Method::DELETE,
                Some(token),
                &format!("{BASE}/{id}/identifiers/{kind}/{value}"),
                None,
            )
            .await
        }
    };
    assert_eq!(remove("phone", "+33612345678").await.status(), 204);
    assert_eq!(
        remove("email", "JANE.DOE@example.com").await.status(),
        204,
        "normalised before the look-up"
    );
    let response = remove("email", "jane.doe@example.com").await;
    assert_eq!(response.status(), 404);
    problem(response).await;
    let response = remove("x", "1").await;
    assert_eq!(response.status(), 422);
    let response = remove("email", "nope").await;
    assert_eq!(response.status(), 422);
    let held: Vec<String> = sqlx::query_scalar(
        "SELECT kind || ':' || value FROM crm_identifiers WHERE profile_id = $1",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(held, ["email:jane@example.com"]);
}

#[tokio::test]
async fn taken_blocked_and_excess_identifiers_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let jane = profile(
        &app,
        "maison",
        &[
            ("email", "jane@example.com"),
            ("portal_user", "0190a0a0-0000-7000-8000-000000000001"),
        ],
        json!({}),
    )
    .await;
    let paul = profile(&app, "maison", &[("email", "paul@example.com")], json!({})).await;
    // atelier's holder of the same address is another brand: no conflict.
    profile(
        &app,
        "atelier",
        &[("email", "shared@example.com")],
        json!({}),
    )
    .await;

    let response = add(&app, &token, paul, "email", "JANE@example.com").await;
    assert_eq!(response.status(), 409);
    let body = problem(response).await;
    assert_eq!(code(&body), "identifier-taken");
    assert!(body["detail"].as_str().unwrap().contains(&jane.to_string()));
    assert_eq!(
        add(&app, &token, paul, "email", "shared@example.com")
            .await
            .status(),
        201
    );

    for value in ["anonymous", "test@test.com", "noreply@shop.example", "0000"] {
        let kind = if value.contains('@') {
            "email"
        } else {
            "scl_member"
        };
        let response = add(&app, &token, paul, kind, value).await;
        assert_eq!(response.status(), 422, "{value}");
        assert_eq!(code(&problem(response).await), "identifier-blocked");
    }

    let response = add(
        &app,
        &token,
        jane,
        "portal_user",
        "0190a0a0-0000-7000-8000-000000000002",
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "identifier-limit");
    for n in 2..=5 {
        assert_eq!(
            add(&app, &token, jane, "email", &format!("jane{n}@example.com"))
                .await
                .status(),
            201
        );
    }
    let response = add(&app, &token, jane, "email", "jane6@example.com").await;
    assert_eq!(response.status(), 409, "five emails at most");
    assert_eq!(code(&problem(response).await), "identifier-limit");

    for (kind, value, field) in [
        ("Email", "a@b.co", "kind"),
        ("x", "1", "kind"),
        ("phone", "0612", "value"),
        ("whmcs_client", "0", "value"),
    ] {
        let response = add(&app, &token, paul, kind, value).await;
        assert_eq!(response.status(), 422, "{kind}:{value}");
        assert_eq!(problem(response).await["errors"][0]["field"], field);
    }
    let response = send(
        &app,
        Method::POST,
        Some(&token),
        &format!("{BASE}/{paul}/identifiers"),
        Some(json!({ "kind": "email" })),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn two_concurrent_adds_of_one_identifier_have_one_winner() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    for round in 0..5 {
        let a = profile(
            &app,
            "maison",
            &[("scl_member", &format!("a{round}"))],
            json!({}),
        )
        .await;
        let b = profile(
            &app,
            "maison",
            &[("scl_member", &format!("b{round}"))],
            json!({}),
        )
        .await;
        let value = format!("race{round}@example.com");
        let (first, second) = tokio::join!(
            add(&app, &token, a, "email", &value),
            add(&app, &token, b, "email", &value)
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
        let holders: i64 =
            sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE value = $1")
                .bind(&value)
                .fetch_one(&app.db)
                .await
                .unwrap();
        assert_eq!(holders, 1);
    }
}

#[tokio::test]
async fn merged_away_and_foreign_profiles_are_not_changed_and_outsiders_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let survivor = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let absorbed = profile(&app, "maison", &[("email", "old@example.com")], json!({})).await;
    merge_away(&app, absorbed, survivor).await;
    let theirs = profile(&app, "atelier", &[("email", "ana@example.com")], json!({})).await;

    let response = add(&app, &token, absorbed, "email", "new@example.com").await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "profile-merged");
    let response = send(
        &app,
        Method::DELETE,
        Some(&token),
        &format!("{BASE}/{absorbed}/identifiers/email/old@example.com"),
        None,
    )
    .await;
    assert_eq!(response.status(), 409);
    for id in [theirs.to_string(), "nope".to_owned()] {
        assert_eq!(
            add(&app, &token, &id, "email", "new@example.com")
                .await
                .status(),
            404
        );
        let response = send(
            &app,
            Method::DELETE,
            Some(&token),
            &format!("{BASE}/{id}/identifiers/email/ana@example.com"),
            None,
        )
        .await;
        assert_eq!(response.status(), 404);
    }
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE profile_id = $1")
            .bind(theirs)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(held, 1);

    let outsiders = outsiders(&app).await;
    assert_refused(
        &app,
        &outsiders,
        Method::POST,
        &format!("{BASE}/{survivor}/identifiers"),
        Some(json!({ "kind": "email", "value": "x@example.com" })),
    )
    .await;
    assert_refused(
        &app,
        &outsiders,
        Method::DELETE,
        &format!("{BASE}/{survivor}/identifiers/email/jane@example.com"),
        None,
    )
    .await;
}
