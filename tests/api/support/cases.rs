//! Listing, opening and reading cases.

use super::*;

#[tokio::test]
async fn the_demo_customer_sees_their_open_case() {
    let (app, token) = demo().await;

    let response = get(&app, &token, "/api/v1/support/cases").await;

    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let case = &items[0];
    assert_eq!(case["id"], DEMO_CASE);
    assert_eq!(case["subject"], "SIM not connecting abroad");
    assert_eq!(case["status"], "new");
    assert_eq!(case["priority"], "medium");
    assert_eq!(case["category"], "technical");
    assert_eq!(case["created_at"], "2026-01-15T09:00:00Z");
    assert_eq!(case["closed_at"], Value::Null);
    assert!(case["case_number"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(
        case.get("description").is_none(),
        "lists carry no description"
    );

    let open: Value = get(&app, &token, "/api/v1/support/cases?status=open")
        .await
        .json()
        .await
        .unwrap();
    let closed: Value = get(&app, &token, "/api/v1/support/cases?status=closed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&open), vec![DEMO_CASE]);
    assert!(ids(&closed).is_empty());
}

#[tokio::test]
async fn a_new_case_is_written_to_salesforce_for_the_customers_account_and_listed_first() {
    let (app, token) = demo().await;

    let response = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &new_case("  Unexpected roaming charge  "),
    )
    .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let case: Value = response.json().await.unwrap();
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/support/cases/{id}"));
    assert_eq!(case["subject"], "Unexpected roaming charge");
    assert_eq!(
        case["description"],
        "My invoice shows a roaming charge I did not make."
    );
    assert_eq!(case["status"], "new");
    assert_eq!(case["priority"], "high");
    assert_eq!(case["category"], "billing");
    assert_eq!(case["comments"], json!([]));
    assert!(case["case_number"].as_str().is_some_and(|n| !n.is_empty()));

    let records = app.sandbox().salesforce_records("Case").await;
    let record = records.iter().find(|r| r["Id"] == id.as_str()).unwrap();
    assert_eq!(record["AccountId"], DEMO_ACCOUNT);
    assert_eq!(
        record["ContactId"],
        concierge_sandbox::demo::CUSTOMERS[0].contact_id
    );
    assert_eq!(record["Origin"], "Web");
    assert_eq!(record["Status"], "New");
    assert_eq!(record["Priority"], "High");
    assert_eq!(record["Type"], "Question");
    assert_eq!(record["Reason"], "Billing");

    let page: Value = get(&app, &token, "/api/v1/support/cases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), vec![id.clone(), DEMO_CASE.to_owned()]);
    let detail = get(&app, &token, &location).await;
    assert_eq!(detail.status(), 200);
}

#[tokio::test]
async fn priority_defaults_to_medium_and_every_category_round_trips() {
    let (app, token) = demo().await;

    for category in ["billing", "technical", "sim", "order", "account", "other"] {
        let response = post(
            &app,
            &token,
            "/api/v1/support/cases",
            &json!({ "subject": format!("About {category}"), "description": "Details.", "category": category }),
        )
        .await;
        assert_eq!(response.status(), 201, "{category}");
        let case: Value = response.json().await.unwrap();
        assert_eq!(case["category"], category);
        assert_eq!(case["priority"], "medium");
    }
}

#[tokio::test]
async fn cases_are_paged_newest_first_with_a_cursor() {
    let (app, token) = demo().await;
    let mut created = Vec::new();
    for n in 1..=4 {
        let case = create_case(&app, &token, &format!("Case {n}")).await;
        created.push(case["id"].as_str().unwrap().to_owned());
    }

    let mut seen = Vec::new();
    let mut path = "/api/v1/support/cases?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = get(&app, &token, &path).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/support/cases?limit=2&cursor={cursor}"),
            None => break,
        }
    }

    let mut expected: Vec<String> = created.into_iter().rev().collect();
    expected.push(DEMO_CASE.to_owned());
    assert_eq!(seen, expected, "every case once, newest first");
    assert_eq!(pages, 3);

    let filtered: Value = get(&app, &token, "/api/v1/support/cases?status=open&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&filtered).len(), 5);
}

#[tokio::test]
async fn bad_list_parameters_are_refused() {
    let (app, token) = demo().await;

    for (query, status) in [
        ("limit=0", 422),
        ("limit=101", 422),
        ("limit=ten", 400),
        ("status=pending", 400),
        ("cursor=not-a-cursor", 400),
        ("cursor=bm90fGFuLWlk", 400),
        ("sort=subject", 400),
    ] {
        let response = get(&app, &token, &format!("/api/v1/support/cases?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        problem(response).await;
    }
}

#[tokio::test]
async fn invalid_cases_are_refused_with_field_errors_and_nothing_reaches_salesforce() {
    let (app, token) = demo().await;
    let cases_before = app.sandbox().salesforce_records("Case").await.len();
    let long_subject = "x".repeat(256);
    let long_description = "y".repeat(32_001);

    let cases = [
        (
            json!({ "subject": "", "description": "d", "category": "sim" }),
            "subject",
            "required",
        ),
        (
            json!({ "subject": "   ", "description": "d", "category": "sim" }),
            "subject",
            "required",
        ),
        (
            json!({ "subject": long_subject, "description": "d", "category": "sim" }),
            "subject",
            "too_long",
        ),
        (
            json!({ "subject": "s", "description": long_description, "category": "sim" }),
            "description",
            "too_long",
        ),
        (
            json!({ "subject": "s", "category": "sim" }),
            "description",
            "required",
        ),
        (
            json!({ "subject": "s", "description": "d", "category": "roaming" }),
            "category",
            "unknown_value",
        ),
        (
            json!({ "subject": "s", "description": "d" }),
            "category",
            "required",
        ),
        (
            json!({ "subject": "s", "description": "d", "category": "sim", "priority": "urgent" }),
            "priority",
            "unknown_value",
        ),
        (
            json!({ "subject": "line\nbreak", "description": "d", "category": "sim" }),
            "subject",
            "invalid",
        ),
    ];
    for (body, field, code) in cases {
        let response = post(&app, &token, "/api/v1/support/cases", &body).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["code"], "validation-failed");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field} {code} in {errors:?}"
        );
    }

    // The exact limits are accepted.
    let exact = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &json!({ "subject": "s".repeat(255), "description": "d".repeat(32_000), "category": "other" }),
    )
    .await;
    assert_eq!(exact.status(), 201);

    let unknown_field = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &json!({ "subject": "s", "description": "d", "category": "sim", "status": "Closed" }),
    )
    .await;
    assert_eq!(unknown_field.status(), 422);
    problem(unknown_field).await;
    let wrong_type = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &json!({ "subject": 5, "description": "d", "category": "sim" }),
    )
    .await;
    assert_eq!(wrong_type.status(), 422);
    let not_json = app
        .client
        .post(app.url("/api/v1/support/cases"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"subject\":")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    problem(not_json).await;

    assert_eq!(
        app.sandbox().salesforce_records("Case").await.len(),
        cases_before + 1
    );
}
