//! Journeys' `create_advisor_task`: checked at save, run by the job runner for the client's primary advisor
//! (else the store's manager; a profile outside the book is skipped), one task per enrollment and step.

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::TASKS;
use crate::clienteling::fixtures::{client, id_of, paris, person};
use crate::crm_journeys::{enrollment, enrollments, event, path, post, published};
use crate::helpers::{
    Sandboxed, eventually, get_json_as, marketer_token, spawn_sandboxed_app_with,
};

fn task_journey(trigger: &str) -> Value {
    json!({
        "trigger": { "type": "event", "event": trigger },
        "start": "follow",
        "steps": [
            { "type": "create_advisor_task", "id": "follow", "title": "Call about the enquiry",
              "notes": "They asked about the Capucines.", "due_in_hours": 2, "priority": "high", "next": null }
        ]
    })
}

#[tokio::test]
async fn a_create_advisor_task_step_is_checked_when_saved() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut definition = task_journey("store_enquiry");
    definition["steps"][0]["title"] = json!(" ");
    definition["steps"][0]["priority"] = json!("urgent");
    definition["steps"][0]["due_in_hours"] = json!(100_000);

    let (status, body) = post(
        &app,
        &token,
        "/api/v1/brands/maison/crm/journeys",
        &json!({ "name": "Tasks", "definition": definition }),
    )
    .await;

    assert_eq!(status, 422, "{body}");
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "definition/steps/0/due_in_hours",
            "definition/steps/0/priority",
            "definition/steps/0/title"
        ]
    );
}

#[tokio::test]
async fn a_journey_gives_the_client_a_task_for_their_advisor_or_their_stores_manager_once() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let advisor = paris(&app).await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    // The advisor's client has them as primary; the manager's has no advisor.
    let advised = id_of(
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
    let unadvised = id_of(
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
    let journey = published(&app, &token, task_journey("store_enquiry")).await;

    for email in ["anne@example.com", "bea@example.com", "nobody@example.com"] {
        event(&app, &token, "store_enquiry", email, json!({})).await;
    }
    let done = eventually(60, "three enrollments completed", || async {
        let all = enrollments(&app, &token, journey).await;
        (all.len() == 3 && all.iter().all(|e| e["status"] == "completed")).then_some(all)
    })
    .await;

    let mut outcomes = Vec::new();
    for e in &done {
        let detail = enrollment(&app, &token, e["id"].as_str().unwrap()).await;
        outcomes.push((
            e["profile_id"].as_str().unwrap().to_owned(),
            path(&detail),
            detail,
        ));
    }
    let outcome_of = |profile: &str| {
        outcomes
            .iter()
            .find(|(p, _, _)| p == profile)
            .unwrap_or_else(|| panic!("no enrollment of {profile}: {outcomes:?}"))
    };
    let (_, steps, detail) = outcome_of(&advised);
    assert_eq!(steps, &[("follow".to_owned(), "task_created".to_owned())]);
    let task_id = detail["steps"][0]["detail"]["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task = get_json_as(&app, &advisor.token, &format!("{TASKS}/{task_id}")).await;
    assert_eq!(task["assignee_id"], advisor.id.to_string());
    assert_eq!(task["source"], "journey");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["title"], "Call about the enquiry");
    assert_eq!(task["created_by"], Value::Null);
    let due: chrono::DateTime<Utc> = task["due_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (due - Utc::now()).num_minutes() > 100,
        "due in about two hours: {due}"
    );
    let (_, steps, detail) = outcome_of(&unadvised);
    assert_eq!(steps[0].1, "task_created");
    assert_eq!(
        detail["steps"][0]["detail"]["assignee_id"],
        manager.id.to_string()
    );
    let nobody = outcomes
        .iter()
        .find(|(p, _, _)| p != &advised && p != &unadvised)
        .unwrap();
    assert_eq!(nobody.1[0].1, "skipped");
    assert_eq!(nobody.2["steps"][0]["detail"]["reason"], "not_a_client");

    // The step's effect again with its key (a re-run after a crash) makes no second task.
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let enrollment_id = outcome_of(&advised).2["id"].as_str().unwrap().to_owned();
    let again = concierge::clienteling::tasks::create_for_journey(
        &app.db,
        &concierge::clienteling::tasks::JourneyTask {
            brand_id: brand.id,
            client_id: advised.parse::<Uuid>().unwrap(),
            key: &format!("journey:{enrollment_id}:follow"),
            title: "Call about the enquiry",
            notes: "",
            due_at: Utc::now(),
            priority: "high",
        },
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        concierge::clienteling::tasks::JourneyTaskOutcome::Created {
            task_id: task_id.parse().unwrap(),
            assignee_id: advisor.id,
        }
    );
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clienteling_tasks WHERE source = 'journey'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(count, 2);
}
