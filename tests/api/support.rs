//! The support context over HTTP, end to end through the real clients against the sandbox.

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestOptions, customer_linked_to, demo_customer, problem, spawn_app_with,
};
use crate::helpers::{get_as as get, token_of};

const DEMO_CASE: &str = "500SBDEMO000001AAA";
const DEMO_ACCOUNT: &str = "001SBDEMO000001AAA";

async fn sandboxed() -> TestApp {
    spawn_app_with(TestOptions {
        sandbox: true,
        ..Default::default()
    })
    .await
}

/// The app and the demo customer's access token.
async fn demo() -> (TestApp, String) {
    let app = sandboxed().await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn new_case(subject: &str) -> Value {
    json!({
        "subject": subject,
        "description": "My invoice shows a roaming charge I did not make.",
        "category": "billing",
        "priority": "high",
    })
}

async fn create_case(app: &TestApp, token: &str, subject: &str) -> Value {
    let response = post(app, token, "/api/v1/support/cases", &new_case(subject)).await;
    assert_eq!(response.status(), 201, "create {subject}");
    response.json().await.unwrap()
}

async fn sandbox_records(app: &TestApp, object: &str) -> Vec<Value> {
    let sandbox = app.sandbox.as_ref().unwrap();
    reqwest::get(format!(
        "{}/__sandbox/salesforce/records/{object}",
        sandbox.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn inject_fault(app: &TestApp, fault: Value) {
    let sandbox = app.sandbox.as_ref().unwrap();
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/salesforce", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "inject fault");
}

async fn clear_faults(app: &TestApp) {
    let sandbox = app.sandbox.as_ref().unwrap();
    reqwest::Client::new()
        .delete(format!("{}/__sandbox/faults/salesforce", sandbox.url))
        .send()
        .await
        .unwrap();
    // Let the circuit breaker's cooldown pass.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
}

async fn close_case(app: &TestApp, id: &str) {
    app.state
        .salesforce
        .update("Case", id, &json!({ "Status": "Closed" }))
        .await
        .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

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

    let records = sandbox_records(&app, "Case").await;
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
async fn a_case_shows_only_its_public_comments_oldest_first_and_the_customer_can_add_one() {
    let (app, token) = demo().await;
    // An internal note support wrote: never shown to the customer.
    app.state
        .salesforce
        .create(
            "CaseComment",
            &json!({ "ParentId": DEMO_CASE, "CommentBody": "Internal: check the HLR.", "IsPublished": false }),
        )
        .await
        .unwrap();

    let response = get(&app, &token, &format!("/api/v1/support/cases/{DEMO_CASE}")).await;

    assert_eq!(response.status(), 200);
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["id"], DEMO_CASE);
    assert_eq!(
        case["description"],
        "Since landing in Paris my SIM shows no service."
    );
    let comments = case["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0]["author"], "support");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Thank you for contacting us")
    );

    let added = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Roaming is on, still no service." }),
    )
    .await;
    assert_eq!(added.status(), 201);
    let comment: Value = added.json().await.unwrap();
    assert_eq!(comment["body"], "Roaming is on, still no service.");
    assert_eq!(comment["author"], "customer");
    let comment_id = comment["id"].as_str().unwrap().to_owned();

    let record = sandbox_records(&app, "CaseComment")
        .await
        .into_iter()
        .find(|r| r["Id"] == comment_id.as_str())
        .unwrap();
    assert_eq!(record["ParentId"], DEMO_CASE);
    assert_eq!(record["IsPublished"], true);

    let case: Value = get(&app, &token, &format!("/api/v1/support/cases/{DEMO_CASE}"))
        .await
        .json()
        .await
        .unwrap();
    let comments = case["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["author"], "support");
    assert_eq!(comments[1]["id"], comment_id.as_str());
    assert_eq!(comments[1]["author"], "customer");
}

#[tokio::test]
async fn a_closed_case_takes_no_more_comments() {
    let (app, token) = demo().await;
    close_case(&app, DEMO_CASE).await;
    let comments_before = sandbox_records(&app, "CaseComment").await.len();

    let response = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Hello?" }),
    )
    .await;

    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "case-closed");
    assert_eq!(
        sandbox_records(&app, "CaseComment").await.len(),
        comments_before
    );
    let case: Value = get(&app, &token, &format!("/api/v1/support/cases/{DEMO_CASE}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["status"], "closed");
    assert!(case["closed_at"].as_str().is_some());
    let closed: Value = get(&app, &token, "/api/v1/support/cases?status=closed")
        .await
        .json()
        .await
        .unwrap();
    let open: Value = get(&app, &token, "/api/v1/support/cases?status=open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&closed), vec![DEMO_CASE]);
    assert!(ids(&open).is_empty());
}

#[tokio::test]
async fn another_customers_case_is_not_found() {
    let app = sandboxed().await;
    let taro = token_of(&customer_linked_to(&app, 1).await);
    let comments_before = sandbox_records(&app, "CaseComment").await.len();

    let read = get(&app, &taro, &format!("/api/v1/support/cases/{DEMO_CASE}")).await;
    let comment = post(
        &app,
        &taro,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Let me in." }),
    )
    .await;
    let unknown = get(&app, &taro, "/api/v1/support/cases/500SB9999999999AAA").await;
    let list: Value = get(&app, &taro, "/api/v1/support/cases")
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(read.status(), 404);
    assert_eq!(comment.status(), 404);
    assert_eq!(unknown.status(), 404);
    let (read, unknown) = (problem(read).await, problem(unknown).await);
    assert_eq!(
        read["detail"], unknown["detail"],
        "same answer as a missing case"
    );
    assert!(ids(&list).is_empty());
    assert_eq!(
        sandbox_records(&app, "CaseComment").await.len(),
        comments_before
    );
}

#[tokio::test]
async fn ids_that_cannot_be_salesforce_ids_are_not_found() {
    let (app, token) = demo().await;

    for id in [
        "123",
        "500SBDEMO000001AA'",
        "500SBDEMO000001AAA%20OR%20Id!=null",
        "ééééééééééééééé",
    ] {
        let read = get(&app, &token, &format!("/api/v1/support/cases/{id}")).await;
        assert_eq!(read.status(), 404, "{id}");
        problem(read).await;
        let comment = post(
            &app,
            &token,
            &format!("/api/v1/support/cases/{id}/comments"),
            &json!({ "body": "Hi" }),
        )
        .await;
        assert_eq!(comment.status(), 404, "{id}");
    }
}

#[tokio::test]
async fn invalid_cases_are_refused_with_field_errors_and_nothing_reaches_salesforce() {
    let (app, token) = demo().await;
    let cases_before = sandbox_records(&app, "Case").await.len();
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

    assert_eq!(sandbox_records(&app, "Case").await.len(), cases_before + 1);
}

#[tokio::test]
async fn invalid_comments_are_refused_with_field_errors() {
    let (app, token) = demo().await;
    let path = format!("/api/v1/support/cases/{DEMO_CASE}/comments");
    let comments_before = sandbox_records(&app, "CaseComment").await.len();

    for (body, code) in [
        (json!({ "body": "" }), "required"),
        (json!({ "body": " \n " }), "required"),
        (json!({}), "required"),
        (json!({ "body": "z".repeat(4_001) }), "too_long"),
    ] {
        let response = post(&app, &token, &path, &body).await;
        assert_eq!(response.status(), 422);
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], "body");
        assert_eq!(problem["errors"][0]["code"], code);
    }
    let unknown_field = post(
        &app,
        &token,
        &path,
        &json!({ "body": "hi", "IsPublished": false }),
    )
    .await;
    assert_eq!(unknown_field.status(), 422);

    assert_eq!(
        sandbox_records(&app, "CaseComment").await.len(),
        comments_before
    );
    let exact = post(&app, &token, &path, &json!({ "body": "z".repeat(4_000) })).await;
    assert_eq!(exact.status(), 201);
}

#[tokio::test]
async fn salesforce_errors_become_problems_and_nothing_is_half_written() {
    let (app, token) = demo().await;
    let cases_before = sandbox_records(&app, "Case").await.len();
    let comments_before = sandbox_records(&app, "CaseComment").await.len();
    // A session is open, so the faults hit the data calls rather than the token endpoint.
    assert_eq!(
        get(&app, &token, "/api/v1/support/cases").await.status(),
        200
    );

    inject_fault(&app, json!({ "status": 500 })).await;
    let list = get(&app, &token, "/api/v1/support/cases").await;
    let detail = get(&app, &token, &format!("/api/v1/support/cases/{DEMO_CASE}")).await;
    let create = post(&app, &token, "/api/v1/support/cases", &new_case("Down")).await;
    let comment = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Anyone?" }),
    )
    .await;
    for response in [list, detail, create, comment] {
        assert_eq!(response.status(), 503);
        let problem = problem(response).await;
        assert_eq!(problem["code"], "provider-unavailable");
        assert!(
            !problem.to_string().contains("HTTP 500"),
            "no internals: {problem}"
        );
    }
    clear_faults(&app).await;

    // Only the write fails: the case look-up before it works.
    inject_fault(&app, json!({ "status": 503, "operation": "composite" })).await;
    let comment = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Anyone?" }),
    )
    .await;
    assert_eq!(comment.status(), 503);
    clear_faults(&app).await;

    inject_fault(&app, json!({ "malformed": true })).await;
    let list = get(&app, &token, "/api/v1/support/cases").await;
    assert_eq!(list.status(), 502);
    assert_eq!(problem(list).await["code"], "provider-error");
    clear_faults(&app).await;

    assert_eq!(sandbox_records(&app, "Case").await.len(), cases_before);
    assert_eq!(
        sandbox_records(&app, "CaseComment").await.len(),
        comments_before
    );
    let recovered = get(&app, &token, "/api/v1/support/cases").await;
    assert_eq!(recovered.status(), 200);
}

#[tokio::test]
async fn a_case_that_disappears_in_salesforce_is_not_found() {
    let (app, token) = demo().await;
    let path = format!("/api/v1/support/cases/{DEMO_CASE}");

    // Deleted between the look-up and the write: Salesforce answers NOT_FOUND to the write.
    inject_fault(
        &app,
        json!({ "error_code": "NOT_FOUND", "operation": "composite", "times": 1 }),
    )
    .await;
    let comment = post(
        &app,
        &token,
        &format!("{path}/comments"),
        &json!({ "body": "Hi" }),
    )
    .await;
    assert_eq!(comment.status(), 404);
    assert_eq!(problem(comment).await["code"], "not-found");

    app.state
        .salesforce
        .delete("Case", DEMO_CASE)
        .await
        .unwrap();
    let read = get(&app, &token, &path).await;
    assert_eq!(read.status(), 404);
    let list: Value = get(&app, &token, "/api/v1/support/cases")
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&list).is_empty());
}

#[tokio::test]
async fn a_busy_salesforce_is_unavailable_with_retry_after() {
    let (app, token) = demo().await;
    let cases_before = sandbox_records(&app, "Case").await.len();
    inject_fault(
        &app,
        json!({ "error_code": "REQUEST_LIMIT_EXCEEDED", "operation": "composite" }),
    )
    .await;

    let response = post(&app, &token, "/api/v1/support/cases", &new_case("Busy")).await;

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "provider-unavailable");
    assert_eq!(sandbox_records(&app, "Case").await.len(), cases_before);
}

#[tokio::test]
async fn a_salesforce_that_does_not_answer_is_unavailable() {
    let app = spawn_app_with(TestOptions {
        sandbox: true,
        configure: Box::new(|settings| {
            settings.providers.timeout_ms = 300;
            settings.providers.max_retries = 0;
        }),
        ..Default::default()
    })
    .await;
    let token = token_of(&demo_customer(&app).await);
    inject_fault(&app, json!({ "hang": true, "operation": "/query" })).await;

    let started = std::time::Instant::now();
    let response = get(&app, &token, "/api/v1/support/cases").await;

    assert_eq!(response.status(), 503);
    assert_eq!(problem(response).await["code"], "provider-unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn every_support_endpoint_needs_a_signed_in_customer() {
    let app = sandboxed().await;
    let client = reqwest::Client::new();
    let case = format!("/api/v1/support/cases/{DEMO_CASE}");
    let comments = format!("{case}/comments");

    let responses = [
        client
            .get(app.url("/api/v1/support/cases"))
            .send()
            .await
            .unwrap(),
        client
            .post(app.url("/api/v1/support/cases"))
            .json(&new_case("x"))
            .send()
            .await
            .unwrap(),
        client.get(app.url(&case)).send().await.unwrap(),
        client
            .post(app.url(&comments))
            .json(&json!({ "body": "x" }))
            .send()
            .await
            .unwrap(),
        client
            .get(app.url("/api/v1/support/cases"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        assert_eq!(response.status(), 401);
        problem(response).await;
    }
    let wrong_method = client.delete(app.url(&case)).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn a_customer_still_being_linked_is_asked_to_wait() {
    let app = sandboxed().await;
    let credentials =
        json!({ "email": "new@concierge.test", "password": "a-long-and-unusual-passphrase" });
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &json!({ "email": "new@concierge.test", "password": "a-long-and-unusual-passphrase",
                        "first_name": "New", "last_name": "Customer" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login: Value = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token_of(&login);

    let list = get(&app, &token, "/api/v1/support/cases").await;
    let create = post(&app, &token, "/api/v1/support/cases", &new_case("Hello")).await;

    assert_eq!(list.status(), 409);
    assert_eq!(create.status(), 409);
    assert!(list.headers().contains_key("retry-after"));
    assert_eq!(problem(list).await["code"], "account-linking");
}
