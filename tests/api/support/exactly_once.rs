//! Case and comment creates are sent once (no transport retry) and, when their answer is lost, found in
//! Salesforce before anything is sent again: a case by its external id (`Portal_Case_Key__c`), a comment
//! (which takes no custom fields) by its case, text and time.

use super::*;

fn composite_calls(app: &TestApp) -> usize {
    app.sandbox().count(System::Salesforce, |request| {
        request
            .operation
            .trim_end_matches('/')
            .ends_with("/composite")
    })
}

fn lose_the_next_composite_answer(app: &TestApp) {
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "phase": "after", "hang": true, "times": 1}),
    );
}

#[tokio::test]
async fn a_case_whose_answer_is_lost_is_found_by_its_key_and_not_created_twice() {
    let (app, token) = demo().await;
    lose_the_next_composite_answer(&app);

    let response = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &new_case("Lost answer"),
    )
    .await;

    assert_eq!(response.status(), 201);
    let case: Value = response.json().await.unwrap();
    let cases: Vec<Value> = app
        .sandbox()
        .salesforce_records("Case")
        .await
        .into_iter()
        .filter(|case| case["Subject"] == "Lost answer")
        .collect();
    assert_eq!(cases.len(), 1, "exactly one case");
    assert_eq!(case["id"], cases[0]["Id"]);
    assert!(
        cases[0]["Portal_Case_Key__c"]
            .as_str()
            .is_some_and(|key| !key.is_empty())
    );
    assert_eq!(composite_calls(&app), 1, "sent once");
}

#[tokio::test]
async fn a_case_that_never_reached_salesforce_is_sent_again_after_the_lookup() {
    let (app, token) = demo().await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "status": 500, "times": 1}),
    );

    let response = post(
        &app,
        &token,
        "/api/v1/support/cases",
        &new_case("Second send"),
    )
    .await;

    assert_eq!(response.status(), 201);
    let cases = app.sandbox().salesforce_records("Case").await;
    assert_eq!(
        cases
            .iter()
            .filter(|case| case["Subject"] == "Second send")
            .count(),
        1
    );
    assert_eq!(composite_calls(&app), 2);
}

#[tokio::test]
async fn a_comment_whose_answer_is_lost_is_found_and_not_posted_twice() {
    let (app, token) = demo().await;
    lose_the_next_composite_answer(&app);

    let response = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Is there any news?" }),
    )
    .await;

    assert_eq!(response.status(), 201);
    let comment: Value = response.json().await.unwrap();
    assert_eq!(comment["author"], "customer");
    let posted: Vec<Value> = app
        .sandbox()
        .salesforce_records("CaseComment")
        .await
        .into_iter()
        .filter(|c| c["ParentId"] == DEMO_CASE && c["CommentBody"] == "Is there any news?")
        .collect();
    assert_eq!(posted.len(), 1, "exactly one comment");
    assert_eq!(comment["id"], posted[0]["Id"]);
    assert_eq!(composite_calls(&app), 1, "sent once");

    // The same words again are a new comment, not the one found before.
    let again = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Is there any news?" }),
    )
    .await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["id"], comment["id"]);
}

#[tokio::test]
async fn a_lost_comment_answer_is_not_settled_by_a_comment_already_attributed() {
    let (app, token) = demo().await;
    let path = format!("/api/v1/support/cases/{DEMO_CASE}/comments");
    let first = post(&app, &token, &path, &json!({ "body": "Same words" })).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The second send fails before Salesforce handles it: the lookup must not take the first comment.
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "status": 500, "times": 1}),
    );

    let second = post(&app, &token, &path, &json!({ "body": "Same words" })).await;

    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    let posted = app.sandbox().salesforce_records("CaseComment").await;
    assert_eq!(
        posted
            .iter()
            .filter(|c| c["CommentBody"] == "Same words")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_lost_comment_answer_is_not_settled_by_a_support_comment_with_the_same_words() {
    let (app, token) = demo().await;
    // A support agent answered a minute ago with the words the customer is about to write.
    let agent = app
        .salesforce
        .create(
            "CaseComment",
            &json!({"ParentId": DEMO_CASE, "CommentBody": "Thank you", "IsPublished": true}),
        )
        .await
        .expect("the agent's comment");
    lose_the_next_composite_answer(&app);

    let response = post(
        &app,
        &token,
        &format!("/api/v1/support/cases/{DEMO_CASE}/comments"),
        &json!({ "body": "Thank you" }),
    )
    .await;

    assert_eq!(response.status(), 201);
    let comment: Value = response.json().await.unwrap();
    assert_ne!(
        comment["id"],
        agent.as_str(),
        "the agent's comment is not the customer's"
    );
    let case: Value = get(&app, &token, &format!("/api/v1/support/cases/{DEMO_CASE}"))
        .await
        .json()
        .await
        .unwrap();
    let author_of = |id: &str| {
        case["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["author"].clone())
    };
    assert_eq!(author_of(&agent), Some(json!("support")));
    assert_eq!(
        author_of(comment["id"].as_str().expect("id")),
        Some(json!("customer"))
    );
    assert_eq!(composite_calls(&app), 1, "sent once");
}
