//! `PATCH /api/v1/me`: validated, then written to WHMCS and Salesforce; a system that is down is retried by
//! a job until it has the change.

use concierge::integrations::whmcs::ClientRef;
use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use super::{me, new_address, new_customer, patch_me, token, whmcs_client};
use crate::helpers::{
    Sandboxed, System, customer_linked_to, demo_customer, eventually, problem, spawn_sandboxed_app,
    spawn_sandboxed_app_with,
};

const CONTACT: &str = "003SBDEMO000001AAA";

async fn profile_update_rows(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM profile_updates")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_valid_change_is_applied_in_both_systems() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);

    let response = patch_me(
        &app,
        &access,
        json!({ "first_name": "Hana", "phone": "+819099998888", "address": new_address() }),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "applied");
    assert_eq!(
        body["systems"],
        json!({ "whmcs": "applied", "salesforce": "applied" })
    );
    let client = whmcs_client(&app, ClientRef::Id(1)).await;
    assert_eq!(client.firstname, "Hana");
    assert_eq!(client.lastname, CUSTOMERS[0].last_name);
    assert_eq!(client.phonenumber, "+819099998888");
    assert_eq!(client.address1, "2-4-1 Marunouchi");
    assert_eq!(client.address2, "Building 7F");
    assert_eq!(client.postcode, "100-0005");
    assert_eq!(client.countrycode, "JP");
    let contact = app.sandbox().salesforce_record("Contact", CONTACT).await;
    assert_eq!(contact["FirstName"], "Hana");
    assert_eq!(contact["Phone"], "+819099998888");
    assert_eq!(contact["MailingStreet"], "2-4-1 Marunouchi\nBuilding 7F");
    assert_eq!(contact["MailingPostalCode"], "100-0005");
    assert_eq!(contact["MailingCountry"], "JP");
    let profile = me(&app, &access).await;
    assert_eq!(profile["first_name"], "Hana");
    assert_eq!(profile["phone"], "+819099998888");
    assert_eq!(
        profile["address"],
        json!({ "line1": "2-4-1 Marunouchi", "line2": "Building 7F", "city": "Chiyoda-ku",
                "state": "Tokyo", "postcode": "100-0005", "country": "JP" })
    );
    assert_eq!(profile["pending_update"], Value::Null);
}

#[tokio::test]
async fn a_change_reaches_only_the_callers_own_records() {
    let app = spawn_sandboxed_app().await;
    demo_customer(&app).await;
    let taro = token(&customer_linked_to(&app, 1).await);

    let response = patch_me(&app, &taro, json!({ "last_name": "Sato" })).await;

    assert_eq!(response.status(), 200);
    assert_eq!(whmcs_client(&app, ClientRef::Id(2)).await.lastname, "Sato");
    assert_eq!(
        whmcs_client(&app, ClientRef::Id(1)).await.lastname,
        CUSTOMERS[0].last_name
    );
    assert_eq!(
        app.sandbox()
            .salesforce_record("Contact", "003SBDEMO000002AAA")
            .await["LastName"],
        "Sato"
    );
    assert_eq!(
        app.sandbox().salesforce_record("Contact", CONTACT).await["LastName"],
        CUSTOMERS[0].last_name
    );
}

/// The retry job is due one second after the change; when the request's own attempt is still waiting on a
/// slow Salesforce by then, the job must wait for it instead of writing WHMCS a second time.
#[tokio::test]
async fn a_retry_job_due_during_a_slow_first_attempt_does_not_write_twice() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "latency_ms": 1600, "operation": "sobjects/Contact", "times": 1 }),
    );

    let response = patch_me(&app, &access, json!({ "phone": "+819033334444" })).await;

    assert_eq!(response.status(), 200);
    // Past the job's first run (1 s after the change) and the time it needs.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        app.sandbox().whmcs_calls("UpdateClient"),
        1,
        "WHMCS is written once"
    );
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM profile_updates WHERE whmcs_status <> 'applied' OR salesforce_status <> 'applied'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(pending, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_change_salesforce_cannot_take_yet_is_accepted_and_applied_once_it_is_back() {
    // Enough retries that a loaded machine cannot use them all up before Salesforce is back.
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|s| s.jobs.max_attempts = 1000),
    )
    .await;
    let access = token(&demo_customer(&app).await);
    app.sandbox()
        .inject_fault(System::Salesforce, json!({ "status": 503 }));

    let response = patch_me(&app, &access, json!({ "phone": "+819011112222" })).await;

    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(
        body["systems"],
        json!({ "whmcs": "applied", "salesforce": "retrying" })
    );
    assert_eq!(
        whmcs_client(&app, ClientRef::Id(1)).await.phonenumber,
        "+819011112222"
    );
    app.sandbox().clear_faults(System::Salesforce);
    let profile = eventually(15, "the change to reach Salesforce", || async {
        let profile = me(&app, &access).await;
        (profile["pending_update"].is_null()).then_some(profile)
    })
    .await;
    assert_eq!(profile["phone"], "+819011112222");
    assert_eq!(
        app.sandbox().salesforce_record("Contact", CONTACT).await["Phone"],
        "+819011112222"
    );
    assert_eq!(
        app.sandbox().whmcs_calls("UpdateClient"),
        1,
        "WHMCS is not written twice"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_profile_shows_a_change_still_being_retried() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 503, "operation": "sobjects/Contact" }),
    );

    let response = patch_me(&app, &access, json!({ "first_name": "Hana" })).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"].clone();

    let profile = me(&app, &access).await;
    assert_eq!(
        profile["pending_update"],
        json!({ "id": id, "status": "pending",
                "systems": { "whmcs": "applied", "salesforce": "retrying" } })
    );
}

#[tokio::test]
async fn a_newer_change_carries_an_older_pending_one_forward() {
    // No job runner: its retry of the first change would race the second change on a loaded machine.
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 503, "operation": "sobjects/Contact" }),
    );
    let first = patch_me(&app, &access, json!({ "phone": "+819011112222" })).await;
    assert_eq!(first.status(), 202);
    app.sandbox().clear_faults(System::Salesforce);

    let second = patch_me(&app, &access, json!({ "first_name": "Hana" })).await;

    assert_eq!(second.status(), 200);
    let contact = app.sandbox().salesforce_record("Contact", CONTACT).await;
    assert_eq!(contact["Phone"], "+819011112222");
    assert_eq!(contact["FirstName"], "Hana");
    let statuses: Vec<(String,)> =
        sqlx::query_as("SELECT salesforce_status FROM profile_updates ORDER BY created_at")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(statuses, vec![("superseded".into(),), ("applied".into(),)]);
    app.stop().await;
}

#[tokio::test]
async fn a_change_a_system_refuses_is_reported_with_what_was_applied() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "error_code": "Invalid phone number", "operation": "UpdateClient" }),
    );

    let response = patch_me(&app, &access, json!({ "phone": "+819011112222" })).await;

    assert_eq!(response.status(), 502);
    let body = problem(response).await;
    assert_eq!(body["code"], "provider-error");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("WHMCS) refused"), "{detail}");
    assert!(detail.contains("Salesforce) has the change"), "{detail}");
    let profile = me(&app, &access).await;
    assert_eq!(profile["pending_update"]["status"], "failed");
}

#[tokio::test]
async fn invalid_changes_are_refused_with_field_errors_and_change_nothing() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);
    let cases = [
        (json!({ "phone": "09012345678" }), "phone", "invalid_phone"),
        (
            json!({ "phone": "+81 90 1234 5678" }),
            "phone",
            "invalid_phone",
        ),
        (
            json!({ "phone": 819012345678_u64 }),
            "phone",
            "invalid_type",
        ),
        (json!({ "first_name": "" }), "first_name", "required"),
        (
            json!({ "last_name": "x".repeat(101) }),
            "last_name",
            "too_long",
        ),
        (
            json!({ "email": "someone@else.test" }),
            "email",
            "unknown_field",
        ),
        (json!({}), "", "empty"),
        (
            json!({ "address": { "line1": "1", "city": "Tokyo", "postcode": "1500001", "country": "ZZ" } }),
            "address/country",
            "invalid_country",
        ),
        (
            json!({ "address": { "line1": "1", "city": "Tokyo", "postcode": "150-001", "country": "JP" } }),
            "address/postcode",
            "invalid_postcode",
        ),
        (
            json!({ "address": { "line1": "1", "city": "Paris", "postcode": "7500", "country": "FR" } }),
            "address/postcode",
            "invalid_postcode",
        ),
        (
            json!({ "address": { "line1": "1", "city": "Austin", "postcode": "7870", "country": "US" } }),
            "address/postcode",
            "invalid_postcode",
        ),
        (
            json!({ "address": { "city": "Tokyo", "postcode": "1500001", "country": "JP" } }),
            "address/line1",
            "required",
        ),
        (
            json!({ "address": { "line1": "1", "city": "Tokyo", "postcode": "1500001", "country": "JP", "floor": 3 } }),
            "address/floor",
            "unknown_field",
        ),
    ];

    for (body, field, code) in cases {
        let response = patch_me(&app, &access, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["code"], "validation-failed");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{body}: {problem}"
        );
    }

    assert_eq!(app.sandbox().whmcs_calls("UpdateClient"), 0);
    assert_eq!(profile_update_rows(&app).await, 0);
    assert_eq!(
        app.sandbox().salesforce_record("Contact", CONTACT).await["Phone"],
        CUSTOMERS[0].phone
    );
}

#[tokio::test]
async fn several_invalid_fields_are_reported_together() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);

    let response = patch_me(
        &app,
        &access,
        json!({ "phone": "123", "nickname": "x", "first_name": "Ok" }),
    )
    .await;

    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"phone") && fields.contains(&"nickname"),
        "{problem}"
    );
    assert_eq!(app.sandbox().whmcs_calls("UpdateClient"), 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_problem() {
    let app = spawn_sandboxed_app().await;
    let access = token(&demo_customer(&app).await);

    let response = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&access)
        .header("content-type", "application/json")
        .body("{\"phone\": ")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(problem(response).await["code"], "malformed-json");
}

#[tokio::test]
async fn changing_the_profile_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app().await;

    let anonymous = app
        .client
        .patch(app.url("/api/v1/me"))
        .json(&json!({ "first_name": "X" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let staff = crate::auth::admin(&app, "ada@concierge.test").await;
    let response = patch_me(&app, &token(&staff), json!({ "first_name": "X" })).await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.sandbox().whmcs_calls("UpdateClient"), 0);
}

#[tokio::test]
async fn a_change_before_linking_completes_is_a_conflict() {
    let app = spawn_sandboxed_app().await;
    let access = new_customer(&app, "new.customer@example.com").await;

    let response = patch_me(&app, &access, json!({ "first_name": "Hana" })).await;

    assert_eq!(response.status(), 409);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "account-linking");
    assert_eq!(profile_update_rows(&app).await, 0);
}

#[tokio::test]
async fn other_methods_on_me_are_not_allowed() {
    let app = spawn_sandboxed_app().await;

    let response = app
        .client
        .delete(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_system_down_for_every_retry_ends_as_a_failed_update_not_a_silent_half_change() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|settings| settings.jobs.max_attempts = 2),
    )
    .await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 503, "operation": "sobjects/Contact" }),
    );

    let response = patch_me(&app, &access, json!({ "first_name": "Hana" })).await;
    assert_eq!(response.status(), 202);

    let pending = eventually(20, "the retries to run out", || async {
        let profile = me(&app, &access).await;
        (profile["pending_update"]["status"] == "failed").then(|| profile["pending_update"].clone())
    })
    .await;
    assert_eq!(
        pending["systems"],
        json!({ "whmcs": "applied", "salesforce": "failed" })
    );
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM profile_updates")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(error.unwrap().contains("salesforce"));
    app.stop().await;
}

/// An attempt must not hold a database connection while it waits on WHMCS or Salesforce: with a pool of two,
/// two customers' changes waiting on a slow Salesforce must leave room for everyone else's requests (every
/// authenticated request checks its session in the database). Before the per-update lock, `attempt` held no
/// connection across the provider calls.
#[tokio::test]
async fn changes_waiting_on_a_slow_provider_do_not_hold_database_connections() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.database.max_connections = 2;
        settings.database.acquire_timeout_ms = 500;
        settings.providers.timeout_ms = 5000;
    }))
    .await;
    let first = token(&demo_customer(&app).await);
    let second = token(&customer_linked_to(&app, 1).await);
    let third = token(&customer_linked_to(&app, 2).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "latency_ms": 2000, "operation": "sobjects/Contact" }),
    );

    let slow = futures::future::join(
        patch_me(&app, &first, json!({ "phone": "+819033334444" })),
        patch_me(&app, &second, json!({ "phone": "+819055556666" })),
    );
    let meanwhile = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&third)
            .send()
            .await
            .unwrap()
    };
    let ((a, b), other) = tokio::join!(slow, meanwhile);

    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    assert_eq!(
        other.status(),
        200,
        "another customer's request is served while the changes wait on Salesforce"
    );
}
