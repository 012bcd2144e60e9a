//! A case's public conversation and the customer's comments.

use super::*;

#[tokio::test]
async fn a_case_shows_only_its_public_comments_oldest_first_and_the_customer_can_add_one() {
    let (app, token) = demo().await;
    // An internal note support wrote: never shown to the customer.
    app.salesforce
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

    let record = app
        .sandbox()
        .salesforce_records("CaseComment")
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
    let comments_before = app.sandbox().salesforce_records("CaseComment").await.len();

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
        app.sandbox().salesforce_records("CaseComment").await.len(),
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
async fn invalid_comments_are_refused_with_field_errors() {
    let (app, token) = demo().await;
    let path = format!("/api/v1/support/cases/{DEMO_CASE}/comments");
    let comments_before = app.sandbox().salesforce_records("CaseComment").await.len();

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
        app.sandbox().salesforce_records("CaseComment").await.len(),
        comments_before
    );
    let exact = post(&app, &token, &path, &json!({ "body": "z".repeat(4_000) })).await;
    assert_eq!(exact.status(), 201);
}
