//! Review (atk16): the 360° Salesforce part against a provider naming another contact, reminders of
//! reassigned tasks and of staff who left, journeys' tasks for a departed advisor, one pool connection per
//! request, and outreach rendering the template's current version.

use chrono::{Duration, Utc};
use concierge::clienteling::tasks::{
    JourneyTask, JourneyTaskOutcome, create_for_journey, remind_due,
};
use concierge_sandbox::System;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{CLIENTS, Person, client, id_of, paris, person, send};
use super::tasks::{TASKS, created};
use super::view360::{ok, view, world};
use crate::crm_messages::{consent, template_id};
use crate::helpers::{
    Sandboxed, TestApp, TestOptions, get_as, get_json_as, marketer_token, spawn_app,
    spawn_app_with, spawn_sandboxed_app, spawn_sandboxed_app_with,
};

fn contact_page(id: &str, name: &str) -> Value {
    json!({ "totalSize": 1, "done": true, "records": [{
        "attributes": { "type": "Contact" }, "Id": id, "Name": name, "Email": null, "Phone": null,
        "Account": null, "Cases": null
    }] })
}

#[tokio::test]
async fn the_salesforce_part_shows_only_the_contact_asked_for_with_its_text_clipped() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let (advisor, claire) = world(&app).await;
    let (_, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
    let contact = ok(&page, "salesforce")["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(contact.len(), 18, "{contact}");

    // A stranger's contact, a contact without an Id, and one differing only in the case of its 15 chars.
    let mut lowered = contact[..15].to_lowercase();
    lowered.push_str(&contact[15..]);
    for body in [
        contact_page("003OTHERCONTACTAAA", "Someone Else"),
        json!({ "totalSize": 1, "done": true, "records": [{ "Name": "No Id" }] }),
        contact_page(&lowered, "Case Changed"),
    ] {
        app.sandbox().clear_faults(System::Salesforce);
        app.sandbox().inject_fault(
            System::Salesforce,
            json!({ "operation": "/query", "body": body }),
        );
        let (status, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
        assert_eq!(status, 200);
        assert_eq!(page["salesforce"]["status"], "degraded", "{page}");
        assert_eq!(page["salesforce"]["reason"], "malformed", "{page}");
        assert!(page["salesforce"].get("data").is_none(), "{page}");
    }

    // The same record under another checksum suffix is the contact asked for; its text is clipped.
    let mut suffixed = contact[..15].to_owned();
    suffixed.push_str("ZZZ");
    app.sandbox().clear_faults(System::Salesforce);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "body": contact_page(&suffixed, &"N".repeat(5000)) }),
    );
    let (_, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
    let data = ok(&page, "salesforce");
    assert_eq!(data["found"], true);
    assert_eq!(
        data["contact"]["name"].as_str().unwrap().chars().count(),
        255
    );
}

struct Store {
    app: TestApp,
    first: Person,
    second: Person,
    manager: Person,
    client: String,
}

async fn store() -> Store {
    let app = spawn_app().await;
    let first = paris(&app).await;
    let second = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let manager = person(
        &app,
        "mgr.paris@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let client = id_of(
        &client(
            &app,
            &first.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    Store {
        app,
        first,
        second,
        manager,
        client,
    }
}

async fn due_task(store: &Store, holder: &Person, title: &str) -> String {
    id_of(
        &created(
            &store.app,
            &holder.token,
            json!({ "client_id": store.client, "title": title,
                    "due_at": Utc::now() - Duration::minutes(5) }),
        )
        .await,
    )
}

async fn reassign(store: &Store, task: &str, to: Uuid) {
    let response = send(
        &store.app,
        Method::POST,
        Some(&store.manager.token),
        &format!("{TASKS}/{task}/reassign"),
        Some(json!({ "assignee_id": to })),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// Who was told of `task` falling due.
async fn notified(app: &TestApp, task: &str) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT user_id FROM clienteling_notifications WHERE task_id = $1 ORDER BY created_at, id",
    )
    .bind(task.parse::<Uuid>().unwrap())
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_task_reassigned_after_its_reminder_is_reminded_to_its_new_holder() {
    let store = store().await;
    let app = &store.app;
    let task = due_task(&store, &store.first, "Call back").await;
    assert_eq!(remind_due(&app.db, Utc::now()).await.unwrap(), 1);
    assert_eq!(notified(app, &task).await, [store.first.id]);

    reassign(&store, &task, store.second.id).await;
    let read = get_json_as(app, &store.manager.token, &format!("{TASKS}/{task}")).await;
    assert_eq!(read["reminded_at"], Value::Null, "{read}");
    assert_eq!(remind_due(&app.db, Utc::now()).await.unwrap(), 1);
    assert_eq!(remind_due(&app.db, Utc::now()).await.unwrap(), 0);
    assert_eq!(
        notified(app, &task).await,
        [store.first.id, store.second.id]
    );
    let second = get_json_as(app, &store.second.token, TASKS).await;
    let held: Vec<&Value> = ["overdue", "due_today"]
        .iter()
        .flat_map(|group| second[*group].as_array().unwrap().iter())
        .map(|t| &t["id"])
        .collect();
    assert_eq!(held, [&json!(task)], "{second}");
}

#[tokio::test]
async fn staff_who_left_the_brand_are_not_reminded_and_their_tasks_are_once_reassigned() {
    let store = store().await;
    let app = &store.app;
    let disabled = due_task(&store, &store.first, "Disabled").await;
    let moved = due_task(&store, &store.second, "Moved").await;
    let elsewhere = due_task(&store, &store.manager, "Another store").await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(store.first.id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET brand_id = 'atelier', store_ids = '{milan-1}' WHERE id = $1")
        .bind(store.second.id)
        .execute(&app.db)
        .await
        .unwrap();
    // Moved to another store of the brand: still holds the task, still reminded of it.
    sqlx::query("UPDATE users SET store_ids = '{tokyo-1}' WHERE id = $1")
        .bind(store.manager.id)
        .execute(&app.db)
        .await
        .unwrap();

    remind_due(&app.db, Utc::now()).await.unwrap();
    assert!(notified(app, &disabled).await.is_empty());
    assert!(notified(app, &moved).await.is_empty());
    assert_eq!(notified(app, &elsewhere).await, [store.manager.id]);
    sqlx::query("UPDATE users SET store_ids = '{paris-1}' WHERE id = $1")
        .bind(store.manager.id)
        .execute(&app.db)
        .await
        .unwrap();
    // Not claimed again on the next tick.
    assert_eq!(remind_due(&app.db, Utc::now()).await.unwrap(), 0);

    reassign(&store, &disabled, store.manager.id).await;
    remind_due(&app.db, Utc::now()).await.unwrap();
    assert_eq!(notified(app, &disabled).await, [store.manager.id]);
}

#[tokio::test]
async fn a_journeys_task_goes_to_the_stores_manager_when_the_primary_advisor_left() {
    let store = store().await;
    let app = &store.app;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let client: Uuid = store.client.parse().unwrap();
    let task = |key: &'static str| JourneyTask {
        brand_id: brand.id,
        client_id: client,
        key,
        title: "Follow up",
        notes: "",
        due_at: Utc::now() + Duration::hours(2),
        priority: "normal",
    };
    let outcome = create_for_journey(&app.db, &task("journey:atk16:1"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, JourneyTaskOutcome::Created { assignee_id, .. } if assignee_id == store.first.id),
        "{outcome:?}"
    );

    // Moved to another store: no longer the one to give the client's work to.
    sqlx::query("UPDATE users SET store_ids = '{tokyo-1}' WHERE id = $1")
        .bind(store.first.id)
        .execute(&app.db)
        .await
        .unwrap();
    let outcome = create_for_journey(&app.db, &task("journey:atk16:2"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, JourneyTaskOutcome::Created { assignee_id, .. } if assignee_id == store.manager.id),
        "{outcome:?}"
    );

    // Disabled, the same.
    sqlx::query("UPDATE users SET store_ids = '{paris-1}', disabled_at = now() WHERE id = $1")
        .bind(store.first.id)
        .execute(&app.db)
        .await
        .unwrap();
    let outcome = create_for_journey(&app.db, &task("journey:atk16:3"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, JourneyTaskOutcome::Created { assignee_id, .. } if assignee_id == store.manager.id),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn with_one_pool_connection_free_the_task_list_the_preview_and_a_journeys_task_answer() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| {
            settings.database.max_connections = 2;
            // Short: a request waiting for a second connection fails fast instead of hanging the test.
            settings.database.acquire_timeout_ms = 1500;
        }),
        ..TestOptions::default()
    })
    .await;
    let advisor = paris(&app).await;
    let manager = person(
        &app,
        "mgr.paris@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let marketer = marketer_token(&app, "mkt.atk16@maison.example", "maison").await;
    let anne = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne@example.com",
        )
        .await,
    );
    // Without a primary advisor: a journey's task takes the store-manager look-up.
    let bea = id_of(
        &client(
            &app,
            &manager.token,
            "paris-1",
            "Bea",
            "Lune",
            "bea@example.com",
        )
        .await,
    );
    let template = template_id(
        &app,
        &marketer,
        "maison",
        &crate::crm_messages::sms_template("outreach"),
    )
    .await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();

    // One of the two connections is busy elsewhere the whole time.
    let held = app.db.acquire().await.unwrap();
    let list = get_as(&app, &advisor.token, TASKS).await;
    assert_eq!(list.status(), 200, "{:?}", list.text().await);
    let preview = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        &format!("{CLIENTS}/{anne}/outreach/preview"),
        Some(json!({ "template_id": template })),
    )
    .await;
    assert_eq!(preview.status(), 200, "{:?}", preview.text().await);
    let outcome = create_for_journey(
        &app.db,
        &JourneyTask {
            brand_id: brand.id,
            client_id: bea.parse().unwrap(),
            key: "journey:atk16:pool",
            title: "Follow up",
            notes: "",
            due_at: Utc::now() + Duration::hours(2),
            priority: "normal",
        },
    )
    .await;
    assert!(
        matches!(outcome, Ok(JourneyTaskOutcome::Created { assignee_id, .. }) if assignee_id == manager.id),
        "{outcome:?}"
    );
    drop(held);
}

#[tokio::test]
async fn outreach_sends_the_templates_current_version_as_the_preview_shows_it() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let marketer = marketer_token(&app, "mkt.atk16@maison.example", "maison").await;
    let phone = "+33612349916";
    let response = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        CLIENTS,
        Some(json!({
            "attributes": { "first_name": "Anne", "last_name": "Roux",
                            "email": "anne.atk16@example.com", "phone": phone },
            "store": "paris-1",
        })),
    )
    .await;
    assert_eq!(response.status(), 201);
    let anne = id_of(&response.json().await.unwrap());
    consent(
        &app,
        &marketer,
        "maison",
        anne.parse().unwrap(),
        "sms",
        "outreach",
        "granted",
    )
    .await;
    let version = |body: &str| {
        json!({ "name": "News", "channel": "sms", "purpose": "outreach", "fallback_language": "en",
                "variants": [{ "language": "en", "body": body }] })
    };
    let template = template_id(&app, &marketer, "maison", &version("Version one")).await;
    let outreach = |key: &'static str| {
        let app = &app;
        let token = advisor.token.clone();
        let path = format!("{CLIENTS}/{anne}/outreach");
        async move {
            app.client
                .post(app.url(&path))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({ "channel": "sms", "template_id": template }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(outreach("v-1").await.status(), 201);

    let replaced = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/templates/{template}")))
        .bearer_auth(&marketer)
        .json(&version("Version two"))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let preview = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        &format!("{CLIENTS}/{anne}/outreach/preview"),
        Some(json!({ "template_id": template })),
    )
    .await;
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["body"], "Version two", "{preview}");
    assert_eq!(preview["version"], 2);
    assert_eq!(outreach("v-2").await.status(), 201);

    let bodies: Vec<Value> = app
        .sandbox()
        .messages_to(phone)
        .await
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, [json!("Version one"), json!("Version two")]);
}
