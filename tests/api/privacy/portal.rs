//! A portal customer's own export: re-authentication, their CRM profile found through the `portal_user`
//! identifier, what WHMCS and Salesforce hold read through our clients (retried while a system is down), and
//! their requests only.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{completed, download, my_request_path, password, records, step};
use crate::helpers::{
    Sandboxed, System, TestApp, customer_linked_to, demo_brands, eventually, problem, send,
    spawn_sandboxed_app_with, token_of,
};

const PASSWORD: &str = "a-long-and-unusual-passphrase";
const MY_EXPORT: &str = "/api/v1/me/privacy/export";

async fn requests(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM privacy_requests")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Waits for the CRM to make the customer a profile of the portal brand (from `customer.linked`).
async fn profile_of(app: &TestApp, user_id: &str) -> String {
    eventually(20, "the customer's CRM profile", || async {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "SELECT profile_id FROM crm_identifiers WHERE kind = 'portal_user' AND value = $1",
        )
        .bind(user_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .map(|id| id.to_string())
    })
    .await
}

#[tokio::test]
async fn a_customer_exports_their_own_data_from_every_system_even_through_an_outage() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|settings| settings.privacy.max_step_attempts = 200),
    )
    .await;
    demo_brands(&app).await;
    let login = customer_linked_to(&app, 0).await;
    let token = token_of(&login);
    let user_id = login["user"]["id"].as_str().unwrap().to_owned();
    let email = login["user"]["email"].as_str().unwrap().to_owned();
    let profile = profile_of(&app, &user_id).await;

    // Support acted on the account: the customer sees that it happened, not who from where.
    sqlx::query(
        "INSERT INTO auth_audit_log (event, user_id, actor_id, ip, user_agent)
         VALUES ('support_password_reset', $1::uuid, $2, '203.0.113.77', 'SupportDesk/7')",
    )
    .bind(&user_id)
    .bind(uuid::Uuid::now_v7())
    .execute(&app.db)
    .await
    .unwrap();

    // A wrong password, no password, or staff: refused, nothing recorded.
    let wrong = send(
        &app,
        Method::POST,
        Some(&token),
        MY_EXPORT,
        password("not-my-password"),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        problem(wrong).await["type"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next(),
        Some("invalid-credentials")
    );
    let missing = send(&app, Method::POST, Some(&token), MY_EXPORT, Some(json!({}))).await;
    assert_eq!(missing.status(), 422);
    let anonymous = send(&app, Method::POST, None, MY_EXPORT, password(PASSWORD)).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(requests(&app).await, 0);
    let failures: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth_audit_log WHERE event = 'reauthentication_failed' AND user_id = $1::uuid",
    )
    .bind(&user_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(failures, 1);

    // WHMCS is down when the job runs: its part is retried, the request waits.
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "status": 503 }));
    let response = send(
        &app,
        Method::POST,
        Some(&token),
        MY_EXPORT,
        password(PASSWORD),
    )
    .await;
    assert_eq!(response.status(), 202);
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["requested_by"]["kind"], "customer");
    assert_eq!(request["requested_by"]["user_id"], user_id.as_str());
    assert_eq!(request["profile_id"], profile.as_str());
    assert_eq!(request["brand"], "mobile");
    let id = request["id"].as_str().unwrap().to_owned();
    let path = my_request_path(&id);
    let waiting = eventually(20, "retries of the WHMCS part", || async {
        let body: Value = send(&app, Method::GET, Some(&token), &path, None)
            .await
            .json()
            .await
            .unwrap();
        (step(&body, "portal_whmcs")["attempts"].as_i64().unwrap() >= 2).then_some(body)
    })
    .await;
    assert_eq!(waiting["status"], "running", "{waiting}");
    assert!(waiting["download"].is_null());
    let whmcs = step(&waiting, "portal_whmcs");
    assert_ne!(whmcs["status"], "completed");
    assert!(
        whmcs["last_error"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{whmcs}"
    );
    assert!(
        waiting["progress"]["done"].as_i64().unwrap()
            < waiting["progress"]["total"].as_i64().unwrap()
    );

    // WHMCS is back: the request completes.
    app.sandbox().clear_faults(System::Whmcs);
    let done = completed(&app, &token, &path).await;
    assert_eq!(done["progress"]["done"], done["progress"]["total"]);
    let files = download(&app, &done).await;
    assert_eq!(
        records(&files, "portal_whmcs/client.json")[0]["email"],
        email.as_str()
    );
    assert_eq!(
        records(&files, "portal_salesforce/contact.json")[0]["Email"],
        email.as_str()
    );
    assert!(
        records(&files, "portal_salesforce/contact.json")[0]
            .get("attributes")
            .is_none()
    );
    assert_eq!(
        records(&files, "portal_account/account.json")[0]["email"],
        email.as_str()
    );
    assert!(
        records(&files, "portal_account/account.json")[0]
            .get("password_hash")
            .is_none()
    );
    assert!(!records(&files, "portal_account/sessions.json").is_empty());
    let audit = records(&files, "portal_account/audit.json");
    assert!(
        audit
            .iter()
            .any(|row| row["event"] == "reauthentication_failed")
    );
    let support = audit
        .iter()
        .find(|row| row["event"] == "support_password_reset")
        .unwrap();
    assert_eq!(support["actor"], "staff", "{support}");
    for field in ["actor_id", "ip", "user_agent"] {
        assert!(support[field].is_null(), "{field}: {support}");
    }
    let identifiers = records(&files, "crm/identifiers.json");
    assert!(
        identifiers
            .iter()
            .any(|i| i["kind"] == "portal_user" && i["value"] == user_id.as_str())
    );
    let retained: Vec<&str> = files["retention.json"]["retained"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row["file"].as_str())
        .collect();
    for kept in ["portal_orders/orders.json", "portal_whmcs/invoices.json"] {
        assert!(retained.contains(&kept), "{kept} in {retained:?}");
    }

    // Another customer sees none of it.
    let other = token_of(&customer_linked_to(&app, 1).await);
    let response = send(&app, Method::GET, Some(&other), &path, None).await;
    assert_eq!(response.status(), 404);
    problem(response).await;
    let response = send(&app, Method::GET, None, &path, None).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn guessing_the_password_for_an_export_is_rate_limited_per_account() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.auth.limits.password_change.per_account = 2;
        settings.auth.limits.password_change.per_ip = 1000;
    }))
    .await;
    demo_brands(&app).await;
    let token = token_of(&customer_linked_to(&app, 0).await);
    for _ in 0..2 {
        let response = send(
            &app,
            Method::POST,
            Some(&token),
            MY_EXPORT,
            password("a-guess-at-it"),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    // Past the limit even the right password waits: the count is of attempts, not of failures.
    let response = send(
        &app,
        Method::POST,
        Some(&token),
        MY_EXPORT,
        password(PASSWORD),
    )
    .await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    problem(response).await;
    assert_eq!(requests(&app).await, 0);
}
