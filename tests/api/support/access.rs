//! Who may see which case: the signed-in, linked customer, and only their account's cases.

use super::*;

#[tokio::test]
async fn another_customers_case_is_not_found() {
    let app = spawn_sandboxed_app().await;
    let taro = token_of(&customer_linked_to(&app, 1).await);
    let comments_before = app.sandbox().salesforce_records("CaseComment").await.len();

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
        app.sandbox().salesforce_records("CaseComment").await.len(),
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
async fn every_support_endpoint_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app().await;
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
    // No job runner: once the email is verified, the linking job stays queued.
    let app = spawn_sandboxed_app().await;
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
    assert_eq!(registered.status(), 202);
    let login = crate::helpers::sign_in_verified(
        &app,
        "new@concierge.test",
        "a-long-and-unusual-passphrase",
    )
    .await;
    let token = token_of(&login);

    let list = get(&app, &token, "/api/v1/support/cases").await;
    let create = post(&app, &token, "/api/v1/support/cases", &new_case("Hello")).await;

    assert_eq!(list.status(), 409);
    assert_eq!(create.status(), 409);
    assert!(list.headers().contains_key("retry-after"));
    assert_eq!(problem(list).await["code"], "account-linking");
}
