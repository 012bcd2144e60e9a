//! Salesforce failures: problems, nothing half written, unavailability.

use super::*;

#[tokio::test]
async fn salesforce_errors_become_problems_and_nothing_is_half_written() {
    let (app, token) = demo().await;
    let cases_before = app.sandbox().salesforce_records("Case").await.len();
    let comments_before = app.sandbox().salesforce_records("CaseComment").await.len();
    // A session is open, so the faults hit the data calls rather than the token endpoint.
    assert_eq!(
        get(&app, &token, "/api/v1/support/cases").await.status(),
        200
    );

    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 500 }));
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
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 503, "operation": "composite" }),
    );
    let comment = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Anyone?" }),
    )
    .await;
    assert_eq!(comment.status(), 503);
    clear_faults(&app).await;

    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "malformed": true }));
    let list = get(&app, &token, "/api/v1/support/cases").await;
    assert_eq!(list.status(), 502);
    assert_eq!(problem(list).await["code"], "provider-error");
    clear_faults(&app).await;

    assert_eq!(
        app.sandbox().salesforce_records("Case").await.len(),
        cases_before
    );
    assert_eq!(
        app.sandbox().salesforce_records("CaseComment").await.len(),
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
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "error_code": "NOT_FOUND", "operation": "composite", "times": 1 }),
    );
    let comment = post(
        &app,
        &token,
        &format!("{path}/comments"),
        &json!({ "body": "Hi" }),
    )
    .await;
    assert_eq!(comment.status(), 404);
    assert_eq!(problem(comment).await["code"], "not-found");

    app.salesforce.delete("Case", DEMO_CASE).await.unwrap();
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
    let cases_before = app.sandbox().salesforce_records("Case").await.len();
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "error_code": "REQUEST_LIMIT_EXCEEDED", "operation": "composite" }),
    );

    let response = post(&app, &token, "/api/v1/support/cases", &new_case("Busy")).await;

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "provider-unavailable");
    assert_eq!(
        app.sandbox().salesforce_records("Case").await.len(),
        cases_before
    );
}

#[tokio::test]
async fn a_salesforce_that_does_not_answer_is_unavailable() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .without_retries()
            .configure(|settings| settings.providers.timeout_ms = 300),
    )
    .await;
    let token = token_of(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "hang": true, "operation": "/query" }),
    );

    let started = std::time::Instant::now();
    let response = get(&app, &token, "/api/v1/support/cases").await;

    assert_eq!(response.status(), 503);
    assert_eq!(problem(response).await["code"], "provider-unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
