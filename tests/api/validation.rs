//! Bad input for the shared value types and the one validation mechanism: malformed path ids, page limits,
//! emails, nested and list field paths, multi-byte text. Each is a 4xx problem, never a panic or a 500.

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestOptions, demo_customer, get_as, problem, spawn_app_with, token_of,
};

async fn demo() -> (TestApp, String) {
    let app = spawn_app_with(TestOptions {
        sandbox: true,
        ..Default::default()
    })
    .await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// `(field, code)` of every entry of a validation problem.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn malformed_path_ids_are_answered_by_the_ids_own_problem() {
    let (app, token) = demo().await;
    let too_long = "9".repeat(300);
    let numeric_bad = [
        "0",
        "-1",
        "%2B5",
        "1e3",
        "18446744073709551616",
        "%C3%A9",
        "%EF%BC%91%EF%BC%92",
        "1%20",
        too_long.as_str(),
    ];
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    for bad in numeric_bad {
        for (method, path, body, detail) in [
            (
                get.clone(),
                format!("/api/v1/billing/invoices/{bad}"),
                None,
                "An invoice id is a positive whole number.",
            ),
            (
                post.clone(),
                format!("/api/v1/billing/invoices/{bad}/payments"),
                Some(json!({"method": "link"})),
                "An invoice id is a positive whole number.",
            ),
            (
                get.clone(),
                format!("/api/v1/subscriptions/{bad}/sim"),
                None,
                "A subscription id is a positive whole number.",
            ),
            (
                post.clone(),
                format!("/api/v1/subscriptions/{bad}/sim/top-ups"),
                Some(json!({"quota_mb": 1024})),
                "A subscription id is a positive whole number.",
            ),
        ] {
            let response = send(&app, &token, method, &path, body).await;
            assert_eq!(response.status(), 400, "{path}");
            let problem = problem(response).await;
            assert_eq!(problem["code"], "invalid-path-parameter", "{path}");
            assert_eq!(problem["detail"], detail, "{path}");
        }
    }
    for bad in ["not-a-uuid", "%C3%A9", too_long.as_str(), "1"] {
        for path in [
            format!("/api/v1/orders/{bad}"),
            format!("/api/v1/orders/{bad}/events"),
        ] {
            let response = get_as(&app, &token, &path).await;
            assert_eq!(response.status(), 400, "{path}");
            assert_eq!(problem(response).await["detail"], "An order id is a UUID.");
        }
    }
    for bad in ["a%20b", "%C3%A9", "SIM%2F1", &"A".repeat(65)] {
        let path = format!("/api/v1/catalog/products/{bad}");
        let response = get_as(&app, &token, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(problem(response).await["code"], "invalid-path-parameter");
    }
    for bad in [
        "500",
        "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
        &"5".repeat(300),
    ] {
        for (method, path, body) in [
            (get.clone(), format!("/api/v1/support/cases/{bad}"), None),
            (
                post.clone(),
                format!("/api/v1/support/cases/{bad}/comments"),
                Some(json!({"body": "Hello"})),
            ),
        ] {
            let response = send(&app, &token, method, &path, body).await;
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(problem(response).await["code"], "not-found", "{path}");
        }
    }
}

#[tokio::test]
async fn every_list_answers_bad_limits_alike() {
    let (app, token) = demo().await;
    for list in [
        "/api/v1/billing/invoices",
        "/api/v1/orders",
        "/api/v1/support/cases",
        "/api/v1/catalog/products",
    ] {
        for limit in ["0", "101"] {
            let response = get_as(&app, &token, &format!("{list}?limit={limit}")).await;
            assert_eq!(response.status(), 422, "{list} {limit}");
            let problem = problem(response).await;
            assert_eq!(problem["code"], "validation-failed");
            assert_eq!(
                field_errors(&problem),
                vec![("limit".to_owned(), "out_of_range".to_owned())],
                "{list} {limit}"
            );
        }
        for limit in ["abc", "-1", "70000", "", "%E2%91%A0", "1.5"] {
            let response = get_as(&app, &token, &format!("{list}?limit={limit}")).await;
            assert_eq!(response.status(), 400, "{list} {limit}");
            assert_eq!(problem(response).await["code"], "invalid-query-parameter");
        }
        let unknown = get_as(&app, &token, &format!("{list}?page=2")).await;
        assert_eq!(unknown.status(), 400, "{list}");
    }
}

#[tokio::test]
async fn field_paths_name_list_elements_and_multi_byte_text_is_refused_not_panicked_on() {
    let (app, token) = demo().await;
    let response = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/orders",
        Some(json!({"items": [
            {"sku": "ＳＩＭ", "quantity": 1},
            {"sku": "FIBER-1G", "quantity": 0}
        ]})),
    )
    .await;
    assert_eq!(response.status(), 422);
    let errors = field_errors(&problem(response).await);
    assert!(
        errors.contains(&("items/0/sku".into(), "invalid".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("items/1/quantity".into(), "out_of_range".into())),
        "{errors:?}"
    );

    let response = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"address": {"line1": "1", "city": "東京", "postcode": "ééé1", "country": "JP"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        field_errors(&problem(response).await),
        vec![("address/postcode".to_owned(), "invalid_postcode".to_owned())]
    );

    for plan in ["ＤＡＴＡ_20GB", &"DATA_".repeat(40), "データ"] {
        let response = send(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/subscriptions/1/sim/plan-changes",
            Some(json!({"plan_code": plan, "effective_date": "２０２６-１２-０１"})),
        )
        .await;
        assert_eq!(response.status(), 422, "{plan}");
        let errors = field_errors(&problem(response).await);
        assert!(
            errors.contains(&("plan_code".into(), "unknown".into())),
            "{errors:?}"
        );
        assert!(
            errors.contains(&("effective_date".into(), "invalid".into())),
            "{errors:?}"
        );
    }
}

#[tokio::test]
async fn emails_are_checked_where_accounts_are_made_and_never_revealed_where_they_are_used() {
    let (app, _) = demo().await;
    let long = format!("{}@example.com", "a".repeat(250));
    for email in [
        "",
        "   ",
        "not-an-email",
        "a＠example.com",
        "a b@example.com",
        long.as_str(),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(
                &json!({ "email": email, "password": "a-long-and-unusual-passphrase",
                           "first_name": "花子", "last_name": "山田" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{email:?}");
        assert_eq!(
            field_errors(&problem(response).await),
            vec![("email".to_owned(), "invalid".to_owned())],
            "{email:?}"
        );

        let login = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": "whatever-it-is" }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 401, "{email:?}");

        let forgot = app
            .client
            .post(app.url("/api/v1/auth/password/forgot"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(forgot.status(), 202, "{email:?}");
    }
}

/// The session is checked before the path id: a token whose session has ended is a 401 on every route, with
/// a malformed id as with a well-formed one (as it was when handlers parsed their ids themselves), so an
/// ended session learns nothing from the route.
#[tokio::test]
async fn an_ended_session_is_unauthorized_whatever_the_path_id() {
    let (app, token) = demo().await;
    let ended = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    for (method, path, body) in [
        (get.clone(), "/api/v1/billing/invoices/abc", None),
        (get.clone(), "/api/v1/billing/invoices/1001", None),
        (
            post.clone(),
            "/api/v1/billing/invoices/abc/payments",
            Some(json!({ "method": "link" })),
        ),
        (get.clone(), "/api/v1/subscriptions/abc", None),
        (get.clone(), "/api/v1/subscriptions/abc/sim", None),
        (post.clone(), "/api/v1/subscriptions/abc/sim/suspend", None),
        (get.clone(), "/api/v1/orders/not-a-uuid", None),
        (get.clone(), "/api/v1/support/cases/nope", None),
        (get.clone(), "/api/v1/support/cases/500AAAAAAAAAAAA", None),
        (get.clone(), "/api/v1/catalog/products/%20", None),
    ] {
        let response = send(&app, &token, method.clone(), path, body).await;
        let status = response.status();
        let body = problem(response).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["code"], "unauthorized", "{method} {path}");
    }
}

/// A hand-made order cursor whose time PostgreSQL cannot hold (chrono can) is a bad cursor, not a 500.
#[tokio::test]
async fn an_order_cursor_out_of_the_databases_time_range_is_a_bad_cursor() {
    use base64::Engine;
    let (app, token) = demo().await;
    for micros in [
        i64::MIN / 2,
        -8_000_000_000_000_000_000 / 1000,
        8_000_000_000_000_000_000 / 1000,
    ] {
        let raw = format!("{micros}.{}", uuid::Uuid::nil());
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let response = get_as(&app, &token, &format!("/api/v1/orders?cursor={cursor}")).await;
        let status = response.status();
        assert!(status == 200 || status == 400, "{micros}: {status}");
    }
}
