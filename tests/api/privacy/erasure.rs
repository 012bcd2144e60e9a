//! Erasure requests (issue 18): a marketer's erasure of a person the CRM, clienteling, Salesforce, WHMCS and
//! the messaging service know, run by the `privacy.erase` job step by step with a receipt per system; an
//! outage keeps the request running until the system is back; a portal customer's own erasure closes their
//! account; who may ask, brand isolation and re-authentication.

use concierge_sandbox::demo::CUSTOMERS;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{maison_request as read, my_request_path, password, request_path, step};
use crate::erasure::support::{EMAIL, NEEDLES, events, person, tables_holding};
use crate::helpers::{
    Sandboxed, System, TestApp, admin_token, customer_linked_to, customer_token, demo_brands,
    eventually, marketer_token, problem, send, spawn_app, spawn_sandboxed_app_with, staff,
    token_of,
};

const PASSWORD: &str = "a-long-and-unusual-passphrase";
const MY_ERASE: &str = "/api/v1/me/privacy/erase";
const STEPS: [&str; 8] = [
    "targets",
    "crm",
    "clienteling",
    "salesforce",
    "salesforce_tasks",
    "whmcs",
    "messaging",
    "portal",
];

fn erase_path(brand: &str, profile: &str) -> String {
    format!("/api/v1/brands/{brand}/crm/profiles/{profile}/privacy/erase")
}

async fn app() -> TestApp {
    spawn_sandboxed_app_with(Sandboxed::new().jobs().without_retries()).await
}

/// The person of the erasure tests, also known to Salesforce and WHMCS (the demo customer's records).
async fn linked_person(app: &TestApp) -> crate::erasure::support::Person {
    let person = person(app).await;
    let demo = &CUSTOMERS[0];
    let linked = events(
        app,
        &person.marketer,
        &json!([{ "id": "linked-1", "type": "account_linked", "occurred_at": "2026-11-04T10:00:00Z",
                  "identifiers": [{ "kind": "email", "value": EMAIL },
                                  { "kind": "salesforce_contact", "value": demo.contact_id },
                                  { "kind": "whmcs_client", "value": demo.whmcs_client_id.to_string() }] }]),
    )
    .await;
    assert_eq!(linked["results"][0]["status"], "accepted", "{linked}");
    // An API event's account ids never select what an erasure reaches (`privacy::forged_links`): here they
    // stand for the links the portal's verified flow writes (source `portal`).
    sqlx::query(
        "UPDATE crm_identifiers SET source = 'portal'
         WHERE kind IN ('salesforce_contact', 'whmcs_client') AND value = ANY($1)",
    )
    .bind(vec![
        demo.contact_id.to_owned(),
        demo.whmcs_client_id.to_string(),
    ])
    .execute(&app.db)
    .await
    .unwrap();
    person
}

async fn ask(app: &TestApp, token: &str, brand: &str, profile: &str) -> Value {
    let response = send(
        app,
        Method::POST,
        Some(token),
        &erase_path(brand, profile),
        None,
    )
    .await;
    assert_eq!(response.status(), 202, "erasure of {profile}");
    response.json().await.unwrap()
}

async fn completed(app: &TestApp, token: &str, brand: &str, id: &str) -> Value {
    let path = request_path(brand, id);
    eventually(60, "the erasure to complete", || async {
        let body: Value = send(app, Method::GET, Some(token), &path, None)
            .await
            .json()
            .await
            .unwrap();
        assert_ne!(body["status"], "failed", "the erasure failed: {body}");
        (body["status"] == "completed").then_some(body)
    })
    .await
}

async fn kept_targets(app: &TestApp, id: &str) -> Option<Value> {
    sqlx::query_scalar("SELECT erasure_targets FROM privacy_requests WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn receipt<'a>(request: &'a Value, part: &str) -> &'a Value {
    let step = step(request, part);
    assert_eq!(step["status"], "completed", "{step}");
    &step["receipt"]
}

#[tokio::test]
async fn a_marketer_erases_a_person_everywhere_with_a_receipt_from_each_system() {
    let app = app().await;
    let person = linked_person(&app).await;
    let profile = person.profile_id.to_string();
    let demo = &CUSTOMERS[0];

    let request = ask(&app, &person.marketer, "maison", &profile).await;
    assert_eq!(request["kind"], "erasure");
    assert_eq!(request["requested_by"]["role"], "marketer");
    let steps: Vec<&str> = request["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["part"].as_str().unwrap())
        .collect();
    assert_eq!(steps, STEPS);
    let id = request["id"].as_str().unwrap().to_owned();

    let done = completed(&app, &person.marketer, "maison", &id).await;
    assert_eq!(done["progress"]["done"], 8);
    assert!(done.get("erasure_targets").is_none() && done.get("targets").is_none());
    assert_eq!(receipt(&done, "crm")["system"], "crm");
    assert_eq!(receipt(&done, "crm")["status"], "done");
    assert_eq!(receipt(&done, "clienteling")["system"], "clienteling");
    assert_eq!(receipt(&done, "clienteling")["status"], "done");
    assert_eq!(receipt(&done, "salesforce")["reference"], demo.contact_id);
    assert_eq!(receipt(&done, "salesforce")["status"], "done");
    assert_eq!(
        receipt(&done, "whmcs")["reference"],
        demo.whmcs_client_id.to_string()
    );
    assert_eq!(receipt(&done, "whmcs")["status"], "done");
    // The advisor's interaction was mirrored as a Task: the step waited for its redacted version.
    let tasks = receipt(&done, "salesforce_tasks");
    assert_eq!(
        (&tasks["system"], &tasks["status"]),
        (&json!("salesforce"), &json!("done")),
        "{tasks}"
    );
    let task_id = tasks["reference"].as_str().unwrap();
    let task = app.sandbox().salesforce_record("Task", task_id).await;
    assert_eq!(
        task["Concierge_Interaction_Id__c"].as_str(),
        Some(person.interaction.as_str()),
        "{task}"
    );
    let task_text = task.to_string().to_lowercase();
    for needle in NEEDLES {
        assert!(
            !task_text.contains(&needle.to_lowercase()),
            "{needle} in {task}"
        );
    }
    let messaging = receipt(&done, "messaging")["reference"].as_str().unwrap();
    assert!(messaging.starts_with("sha256:"), "{messaging}");
    assert!(!messaging.contains("margaux"), "{messaging}");
    assert_eq!(receipt(&done, "messaging")["status"], "done");
    assert_eq!(
        receipt(&done, "portal")["status"],
        "nothing_held",
        "maison has no portal"
    );
    for part in STEPS {
        assert!(receipt(&done, part)["at"].is_string(), "{part}");
    }
    // The kept targets are gone with the completion; nothing personal is left anywhere.
    assert_eq!(kept_targets(&app, &id).await, None);
    let left = tables_holding(&app, &NEEDLES).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");
    assert!(
        !done.to_string().to_lowercase().contains("margaux"),
        "{done}"
    );
    let contact = app
        .sandbox()
        .salesforce_record("Contact", demo.contact_id)
        .await;
    assert_eq!(contact["LastName"], "Erased");
    assert!(contact["Email"].is_null(), "{contact}");

    // Asked again once done: a new request that finds everything already done.
    let later = ask(&app, &person.marketer, "maison", &profile).await;
    assert_ne!(later["id"], id.as_str());
    let later = completed(
        &app,
        &person.marketer,
        "maison",
        later["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(receipt(&later, "crm")["status"], "already_done");
}

#[tokio::test]
async fn a_messaging_outage_keeps_the_erasure_running_until_the_service_is_back() {
    let app = app().await;
    let person = linked_person(&app).await;
    let profile = person.profile_id.to_string();
    app.sandbox()
        .inject_fault(System::Messaging, json!({ "status": 503 }));

    let request = ask(&app, &person.marketer, "maison", &profile).await;
    let id = request["id"].as_str().unwrap().to_owned();
    let waiting = eventually(30, "retries of the messaging step", || async {
        let body = read(&app, &person.marketer, &id).await;
        (step(&body, "messaging")["attempts"].as_i64().unwrap() >= 3).then_some(body)
    })
    .await;
    assert_eq!(waiting["status"], "running", "{waiting}");
    let messaging = step(&waiting, "messaging");
    assert_ne!(messaging["status"], "completed");
    assert!(messaging["receipt"].is_null());
    assert!(
        messaging["last_error"]
            .as_str()
            .unwrap()
            .contains("retrying"),
        "{messaging}"
    );
    // The person stopped being processed at once; the other providers went on; the portal waits its turn.
    for part in ["targets", "crm", "clienteling", "salesforce", "whmcs"] {
        assert_eq!(step(&waiting, part)["status"], "completed", "{part}");
    }
    assert_eq!(step(&waiting, "portal")["attempts"], 0);
    assert!(waiting["completed_at"].is_null());
    // The targets are kept while a step needs them, and never shown.
    let kept = kept_targets(&app, &id).await.expect("kept");
    assert_eq!(kept["emails"], json!([EMAIL]));
    assert!(!waiting.to_string().contains(EMAIL));

    app.sandbox().clear_faults(System::Messaging);
    let done = completed(&app, &person.marketer, "maison", &id).await;
    assert_eq!(receipt(&done, "messaging")["status"], "done");
    assert!(step(&done, "messaging")["attempts"].as_i64().unwrap() >= 4);
    assert_eq!(kept_targets(&app, &id).await, None);
}

#[tokio::test]
async fn a_salesforce_refusal_fails_the_erasure_with_the_reason() {
    let app = app().await;
    let person = linked_person(&app).await;
    let profile = person.profile_id.to_string();
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 400, "error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "operation": "Contact" }),
    );
    let request = ask(&app, &person.marketer, "maison", &profile).await;
    let id = request["id"].as_str().unwrap().to_owned();
    let failed = eventually(30, "the erasure to fail", || async {
        let body = read(&app, &person.marketer, &id).await;
        (body["status"] != "pending" && body["status"] != "running").then_some(body)
    })
    .await;
    assert_eq!(
        failed["status"], "failed",
        "a refused erasure cannot complete: {failed}"
    );
    let salesforce = step(&failed, "salesforce");
    assert_eq!(salesforce["status"], "failed", "{failed}");
    assert!(
        salesforce["last_error"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{salesforce}"
    );
    assert!(salesforce["receipt"].is_null());
    assert_eq!(
        step(&failed, "portal")["attempts"],
        0,
        "the portal waits for the providers"
    );
    assert_eq!(step(&failed, "crm")["status"], "completed");

    // Someone resolves the refusal in Salesforce, then resumes the request: it kept what its remaining
    // steps need, and finishes from the failed step.
    app.sandbox().clear_faults(System::Salesforce);
    let resume = format!("{}/resume", request_path("maison", &id));
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let foreign = send(&app, Method::POST, Some(&atelier), &resume, None).await;
    assert_eq!(foreign.status(), 404, "another brand's marketer");
    let resumed = send(&app, Method::POST, Some(&person.marketer), &resume, None).await;
    assert_eq!(resumed.status(), 202);
    let resumed: Value = resumed.json().await.unwrap();
    assert_eq!(resumed["id"], id.as_str());
    assert_eq!(
        step(&resumed, "crm")["status"],
        "completed",
        "done steps stay done"
    );
    let done = completed(&app, &person.marketer, "maison", &id).await;
    assert_eq!(receipt(&done, "salesforce")["status"], "done");
    assert_eq!(receipt(&done, "portal")["status"], "nothing_held");
    assert_eq!(kept_targets(&app, &id).await, None);
    let again = send(&app, Method::POST, Some(&person.marketer), &resume, None).await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        problem(again).await["code"],
        "privacy-request-not-resumable"
    );
}

#[tokio::test]
async fn only_the_brands_marketers_and_admins_may_ask_for_an_erasure() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca.paris@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let customer = customer_token(&app, "cleo@example.com").await;
    let created = send(
        &app,
        Method::POST,
        Some(&advisor),
        "/api/v1/brands/maison/clienteling/clients",
        Some(json!({ "attributes": { "first_name": "Anne", "email": "anne@example.com" }, "store": "paris-1" })),
    )
    .await;
    assert_eq!(created.status(), 201);
    let profile = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = erase_path("maison", &profile);
    let anonymous = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for (token, path, status, who) in [
        (&advisor, path.clone(), 403, "an advisor"),
        (&customer, path.clone(), 403, "a customer"),
        (&atelier, path.clone(), 404, "another brand's marketer"),
        (
            &atelier,
            erase_path("atelier", &profile),
            404,
            "another brand's path",
        ),
        (&maison, erase_path("maison", "not-a-uuid"), 404, "a bad id"),
        (
            &maison,
            erase_path("maison", &Uuid::nil().to_string()),
            404,
            "no such profile",
        ),
    ] {
        let response = send(&app, Method::POST, Some(token), &path, None).await;
        assert_eq!(response.status(), status, "{who}");
        problem(response).await;
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing recorded for a refused request");

    let request = ask(&app, &maison, "maison", &profile).await;
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(request["status"], "pending");
    // Asked again while it is open (no job runs in this app): the same request, not a second one.
    let admin = admin_token(&app, "admin@concierge.example").await;
    let again = ask(&app, &admin, "maison", &profile).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(
        again["requested_by"]["role"], "marketer",
        "the first asker's request"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // While the erasure is open the person's data is not exported (it would be overtaken).
    let export = send(
        &app,
        Method::POST,
        Some(&maison),
        &format!("/api/v1/brands/maison/crm/profiles/{profile}/privacy/export"),
        None,
    )
    .await;
    assert_eq!(export.status(), 409);
    assert_eq!(problem(export).await["code"], "erasure-in-progress");
    for (token, brand, status, who) in [
        (&atelier, "maison", 404, "another brand's marketer"),
        (&atelier, "atelier", 404, "another brand's path"),
        (&advisor, "maison", 403, "an advisor"),
    ] {
        let response = send(
            &app,
            Method::GET,
            Some(token),
            &request_path(brand, &id),
            None,
        )
        .await;
        assert_eq!(response.status(), status, "{who}");
    }
    let mine = send(
        &app,
        Method::GET,
        Some(&customer),
        &my_request_path(&id),
        None,
    )
    .await;
    assert_eq!(mine.status(), 404, "a staff request is no customer's");
}

/// Waits for the CRM to make the customer a profile of the portal brand (from `customer.linked`).
async fn profile_of(app: &TestApp, user_id: &str) -> String {
    eventually(20, "the customer's CRM profile", || async {
        sqlx::query_scalar::<_, Uuid>(
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
async fn a_customer_erases_themself_and_can_no_longer_sign_in() {
    let app = app().await;
    demo_brands(&app).await;
    let login = customer_linked_to(&app, 1).await;
    let token = token_of(&login);
    let user_id = login["user"]["id"].as_str().unwrap().to_owned();
    let email = login["user"]["email"].as_str().unwrap().to_owned();
    let profile = profile_of(&app, &user_id).await;

    // A wrong or missing password, anonymous, or staff: refused, nothing recorded.
    let wrong = send(
        &app,
        Method::POST,
        Some(&token),
        MY_ERASE,
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
    let missing = send(&app, Method::POST, Some(&token), MY_ERASE, Some(json!({}))).await;
    assert_eq!(missing.status(), 422);
    let anonymous = send(&app, Method::POST, None, MY_ERASE, password(PASSWORD)).await;
    assert_eq!(anonymous.status(), 401);
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let staff = send(
        &app,
        Method::POST,
        Some(&marketer),
        MY_ERASE,
        password(PASSWORD),
    )
    .await;
    assert_eq!(staff.status(), 403);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let response = send(
        &app,
        Method::POST,
        Some(&token),
        MY_ERASE,
        password(PASSWORD),
    )
    .await;
    assert_eq!(response.status(), 202);
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["kind"], "erasure");
    assert_eq!(request["requested_by"]["kind"], "customer");
    assert_eq!(request["profile_id"], profile.as_str());
    let id = request["id"].as_str().unwrap().to_owned();
    let mine = send(&app, Method::GET, Some(&token), &my_request_path(&id), None).await;
    assert!(
        mine.status() == 200 || mine.status() == 401,
        "visible to the customer until the account is closed"
    );

    // The account is closed by the job: the customer's session ends, so the brand's staff read the request.
    let admin = admin_token(&app, "admin@concierge.example").await;
    let done = completed(&app, &admin, "mobile", &id).await;
    assert_eq!(receipt(&done, "portal")["reference"], user_id.as_str());
    assert_eq!(receipt(&done, "portal")["status"], "done");
    assert_eq!(receipt(&done, "crm")["status"], "done");
    assert_ne!(
        send(&app, Method::GET, Some(&token), "/api/v1/me", None)
            .await
            .status(),
        200,
        "the session ended"
    );
    let signed_in = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 401, "login refused");
    assert_eq!(kept_targets(&app, &id).await, None);
}

#[tokio::test]
async fn an_open_request_whose_job_died_for_good_gets_one_new_job() {
    let app = crate::helpers::spawn_sandboxed_app().await;
    let person = person(&app).await;
    let request = ask(
        &app,
        &person.marketer,
        "maison",
        &person.profile_id.to_string(),
    )
    .await;
    let id = request["id"].as_str().unwrap().to_owned();
    let jobs_of = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM apalis.jobs
             WHERE job_type = 'privacy.erase' AND convert_from(job, 'UTF8')::jsonb ->> 'request_id' = $1",
        )
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    // An hour without a change (the table's trigger would stamp the update itself).
    sqlx::query("ALTER TABLE privacy_requests DISABLE TRIGGER privacy_requests_set_updated_at")
        .execute(&app.db)
        .await
        .unwrap();
    let idle = || async {
        sqlx::query("UPDATE privacy_requests SET updated_at = now() - interval '2 hours' WHERE id = $1::uuid")
            .bind(&id)
            .execute(&app.db)
            .await
            .unwrap();
    };
    assert_eq!(jobs_of().await, 1);
    idle().await;
    // Its job still waits to run (no workers in this app): nothing to restart.
    let restarted = concierge::privacy::restart_stalled_requests(&app.state.privacy)
        .await
        .unwrap();
    assert_eq!(restarted, 0);
    // The job used up its attempts outside any step: the request would stay open for ever.
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Killed', attempts = max_attempts
         WHERE job_type = 'privacy.erase' AND convert_from(job, 'UTF8')::jsonb ->> 'request_id' = $1",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .unwrap();
    let restarted = concierge::privacy::restart_stalled_requests(&app.state.privacy)
        .await
        .unwrap();
    assert_eq!(restarted, 1);
    assert_eq!(jobs_of().await, 2);
    idle().await;
    let again = concierge::privacy::restart_stalled_requests(&app.state.privacy)
        .await
        .unwrap();
    assert_eq!(again, 0, "one live job is enough");
}
