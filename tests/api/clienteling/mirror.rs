//! The Salesforce Task mirror: one composite call per change, one Task per interaction whatever the faults
//! (counted on the sandbox), never an older state over a newer one, a deletion marks the Task, and a mirror
//! that keeps failing is shown on the interaction.

use concierge::integrations::salesforce::{composite_failure, has_error_code};
use concierge_sandbox::System;
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{client, id_of, paris};
use super::follow::{log, read, run_mirror, share, write};
use crate::helpers::{
    Sandboxed, TestApp, marketer_token, spawn_sandboxed_app, spawn_sandboxed_app_with,
};

const CONTACT: &str = "003SBDEMO000001AAA";

/// A client of paris-1 whose profile holds a Salesforce contact; their id.
async fn client_with_contact(app: &TestApp, token: &str) -> String {
    let claire = id_of(
        &client(
            app,
            token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let marketer = marketer_token(app, "mkt@maison.example", "maison").await;
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{claire}/identifiers"
        )))
        .bearer_auth(&marketer)
        .json(&json!({ "kind": "salesforce_contact", "value": CONTACT }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    claire
}

async fn tasks(app: &TestApp, id: &str) -> Vec<Value> {
    app.sandbox()
        .salesforce_records("Task")
        .await
        .into_iter()
        .filter(|task| task["Concierge_Interaction_Id__c"] == id)
        .collect()
}

fn composite_calls(app: &TestApp) -> usize {
    app.sandbox().count_path(System::Salesforce, "/composite")
}

#[tokio::test]
async fn an_interaction_is_one_task_created_updated_and_marked_deleted_in_one_composite_call_each()
{
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    app.sandbox().clear_requests();

    run_mirror(&app, &id, 1, 1).await.unwrap();
    assert_eq!(composite_calls(&app), 1);
    let calls: Vec<String> = app
        .sandbox()
        .paths(System::Salesforce)
        .into_iter()
        .filter(|path| !path.contains("/oauth2/"))
        .collect();
    assert_eq!(
        calls.len(),
        1,
        "one round trip besides the token: {calls:?}"
    );
    let [task] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(task["WhoId"], CONTACT);
    assert_eq!(task["Subject"], "The new bags");
    assert_eq!(task["Description"], "She loved the green one.");
    assert_eq!(task["Type"], "whatsapp");
    assert_eq!(task["Concierge_Context__c"], "product_share");
    assert_eq!(task["Concierge_Version__c"].as_f64(), Some(1.0));
    assert_eq!(task["Concierge_Deleted__c"], false);
    let shown = read(&app, &advisor.token, &id).await;
    assert_eq!(shown["mirror"]["status"], "mirrored");
    assert_eq!(shown["mirror"]["task_id"], task["Id"]);
    assert_eq!(shown["mirror"]["content_version"], 1);

    // Redelivered: already mirrored, no call.
    run_mirror(&app, &id, 1, 1).await.unwrap();
    assert_eq!(composite_calls(&app), 1);

    let etag = format!("\"{}\"", shown["version"]);
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        &etag,
        Some(json!({ "subject": "The green bag" })),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.unwrap();
    run_mirror(&app, &id, edited["version"].as_i64().unwrap() as i32, 1)
        .await
        .unwrap();
    let [updated] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(updated["Id"], task["Id"]);
    assert_eq!(updated["Subject"], "The green bag");
    assert_eq!(updated["Concierge_Version__c"].as_f64(), Some(3.0));

    let etag = format!("\"{}\"", read(&app, &advisor.token, &id).await["version"]);
    let deleted = write(&app, Method::DELETE, &advisor.token, &id, &etag, None).await;
    assert_eq!(deleted.status(), 204);
    run_mirror(&app, &id, 5, 1).await.unwrap();
    let [marked] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(marked["Id"], task["Id"]);
    assert_eq!(marked["Concierge_Deleted__c"], true);
    assert_eq!(marked["Concierge_Version__c"].as_f64(), Some(5.0));
    assert_eq!(composite_calls(&app), 3, "one call per change");
}

#[tokio::test]
async fn a_timeout_after_the_write_and_its_retry_leave_one_task() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    app.sandbox().clear_requests();
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/composite", "phase": "after", "hang": true, "times": 1 }),
    );

    // The client gives up on the first answer and sends the same upsert again.
    let outcome = run_mirror(&app, &id, 1, 1).await;
    if outcome.is_err() {
        run_mirror(&app, &id, 1, 2).await.unwrap();
    }

    assert_eq!(composite_calls(&app), 2, "the lost answer and the retry");
    assert_eq!(tasks(&app, &id).await.len(), 1, "one Task");
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"]["status"],
        "mirrored"
    );
}

#[tokio::test]
async fn server_errors_and_request_limits_are_retried_into_one_task() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    app.sandbox().clear_requests();
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/composite", "status": 500, "times": 1 }),
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/composite", "phase": "after", "error_code": "REQUEST_LIMIT_EXCEEDED", "times": 1 }),
    );

    run_mirror(&app, &id, 1, 1).await.unwrap_err();
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"],
        Value::Null,
        "not mirrored yet"
    );
    run_mirror(&app, &id, 1, 2).await.unwrap_err();
    run_mirror(&app, &id, 1, 3).await.unwrap();

    assert_eq!(composite_calls(&app), 3);
    let [task] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(task["Concierge_Version__c"].as_f64(), Some(1.0));
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"]["task_id"],
        task["Id"]
    );
}

#[tokio::test]
async fn an_older_state_never_overwrites_a_newer_task() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        "\"1\"",
        Some(json!({ "subject": "Second thoughts" })),
    )
    .await;
    assert_eq!(edited.status(), 200);

    // The edit's job runs first; the creation's job, late, finds it mirrored and makes no call.
    run_mirror(&app, &id, 2, 1).await.unwrap();
    app.sandbox().clear_requests();
    run_mirror(&app, &id, 1, 1).await.unwrap();
    assert_eq!(composite_calls(&app), 0);

    // A write of version 1 racing in (read before the edit) is refused by the Task's version rule.
    let salesforce = &app.salesforce;
    let stale = salesforce
        .subrequests()
        .upsert(
            "task",
            "Task",
            "Concierge_Interaction_Id__c",
            &id,
            json!({ "Subject": "The new bags", "Concierge_Version__c": 1 }),
        )
        .unwrap();
    let responses = salesforce.composite(true, vec![stale]).await.unwrap();
    let error = composite_failure(&responses).expect("refused");
    assert!(
        has_error_code(&error, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        "{error:?}"
    );
    let [task] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(task["Subject"], "Second thoughts");
    assert_eq!(task["Concierge_Version__c"].as_f64(), Some(2.0));
}

#[tokio::test]
async fn a_mirror_that_keeps_failing_is_shown_failed_after_its_last_attempt_and_a_later_write_mirrors()
 {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/composite", "status": 503 }),
    );

    run_mirror(&app, &id, 1, 4).await.unwrap_err();
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"],
        Value::Null,
        "still retrying"
    );
    run_mirror(&app, &id, 1, 5).await.unwrap_err();
    let shown = read(&app, &advisor.token, &id).await;
    assert_eq!(shown["mirror"]["status"], "failed", "{shown}");
    assert_eq!(shown["mirror"]["content_version"], 1);
    assert!(tasks(&app, &id).await.is_empty());

    app.sandbox().clear_faults(System::Salesforce);
    let etag = format!("\"{}\"", shown["version"]);
    let edited = write(
        &app,
        Method::PATCH,
        &advisor.token,
        &id,
        &etag,
        Some(json!({ "note": "Try again" })),
    )
    .await;
    assert_eq!(edited.status(), 200);
    run_mirror(&app, &id, 3, 1).await.unwrap();
    let shown = read(&app, &advisor.token, &id).await;
    assert_eq!(shown["mirror"]["status"], "mirrored");
    assert_eq!(tasks(&app, &id).await.len(), 1);
}

#[tokio::test]
async fn a_hostile_answer_without_a_task_id_is_a_failure_not_a_mirror() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let advisor = paris(&app).await;
    let claire = client_with_contact(&app, &advisor.token).await;
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    let forged = json!({ "compositeResponse": [{
        "referenceId": "task", "httpStatusCode": 201, "httpHeaders": {},
        "body": { "id": "'; DROP TABLE tasks; --", "success": true, "errors": [] }
    }] });
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/composite", "body": forged, "times": 1 }),
    );

    let error = run_mirror(&app, &id, 1, 1).await.unwrap_err();
    assert!(format!("{error:#}").contains("no Task id"), "{error:#}");
    assert_eq!(read(&app, &advisor.token, &id).await["mirror"], Value::Null);

    run_mirror(&app, &id, 1, 2).await.unwrap();
    let [task] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"]["task_id"],
        task["Id"]
    );
}

#[tokio::test]
async fn a_contact_salesforce_refuses_leaves_the_task_without_who_id_rather_than_unmirrored() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire@example.com",
        )
        .await,
    );
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{claire}/identifiers"
        )))
        .bearer_auth(&marketer)
        .json(&json!({ "kind": "salesforce_contact", "value": "003SBDEMO000099AAA" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = id_of(&log(&app, &advisor.token, &claire, share()).await);
    app.sandbox().clear_requests();

    run_mirror(&app, &id, 1, 1).await.unwrap();

    assert_eq!(
        composite_calls(&app),
        2,
        "refused with the contact, then written without it"
    );
    let [task] = tasks(&app, &id).await.try_into().unwrap();
    assert_eq!(task["WhoId"], Value::Null);
    assert_eq!(
        read(&app, &advisor.token, &id).await["mirror"]["task_id"],
        task["Id"]
    );
}
