//! The `tasks` part and the tasks on the timeline: the client's open tasks the caller reaches, earliest
//! due first; a task of another store's advisor never shows to someone who reaches the client only
//! through an assignment.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::{claire, ok, view};
use crate::clienteling::fixtures::{CLIENTS, id_of, paris, person, send, tokyo};
use crate::clienteling::tasks::{TASKS, created};
use crate::helpers::spawn_app;

fn titles(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

/// `(event, title)` of the timeline's task entries, in order.
fn task_entries(timeline: &Value) -> Vec<(String, String)> {
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "task")
        .map(|item| {
            (
                item["details"]["event"].as_str().unwrap().to_owned(),
                item["details"]["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn entry(event: &str, title: &str) -> (String, String) {
    (event.to_owned(), title.to_owned())
}

#[tokio::test]
async fn open_tasks_and_task_entries_show_only_what_the_callers_scope_reaches() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let helper = tokyo(&app).await;
    let bystander = person(
        &app,
        "ca2.tokyo@maison.example",
        "client_advisor",
        Some("maison"),
        &["tokyo-1"],
    )
    .await;
    let manager = person(
        &app,
        "mgr.both@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let claire = claire(&app, &advisor, None).await;
    // The Tokyo advisor reaches Claire (a Paris client) only as her secondary advisor.
    let response = send(
        &app,
        Method::POST,
        Some(&manager.token),
        &format!("{CLIENTS}/{claire}/assignments"),
        Some(json!({ "primary": advisor.id, "secondary": [helper.id] })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let now = Utc::now();
    for (title, hours) in [("Call back", 2), ("Send catalogue", 1)] {
        created(
            &app,
            &advisor.token,
            json!({ "client_id": claire, "title": title, "due_at": now + Duration::hours(hours) }),
        )
        .await;
    }
    let done = created(
        &app,
        &advisor.token,
        json!({ "client_id": claire, "title": "Done already", "due_at": now + Duration::hours(3) }),
    )
    .await;
    created(
        &app,
        &helper.token,
        json!({ "client_id": claire, "title": "Tokyo follow-up",
                "due_at": now + Duration::minutes(30) }),
    )
    .await;
    let response = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        &format!("{TASKS}/{}/complete", id_of(&done)),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);

    // `fields=tasks` alone: only that part, open tasks earliest due first, the done one gone.
    let (status, page) = view(&app, &advisor.token, &claire, "?fields=tasks").await;
    assert_eq!(status, 200, "{page}");
    let mut keys: Vec<&str> = page
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "generated_at", "tasks"]);
    let items = &ok(&page, "tasks")["items"];
    assert_eq!(
        titles(items),
        ["Tokyo follow-up", "Send catalogue", "Call back"],
        "the Paris book's tasks, whoever holds them"
    );
    assert_eq!(items[0]["assignee_id"], helper.id.to_string());
    assert_eq!(items[0]["status"], "open");

    // The Tokyo advisor sees Claire but not the Paris store's tasks.
    let (status, page) = view(&app, &helper.token, &claire, "?fields=tasks,timeline").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(titles(&ok(&page, "tasks")["items"]), ["Tokyo follow-up"]);
    assert_eq!(
        task_entries(ok(&page, "timeline")),
        [entry("created", "Tokyo follow-up")]
    );

    // Someone who does not reach Claire gets no page at all.
    let (status, _) = view(&app, &bystander.token, &claire, "?fields=tasks").await;
    assert_eq!(status, 404);

    // The Paris advisor's timeline: creations and the completion, newest first, paged by the cursor.
    let mut seen = Vec::new();
    let mut query = "?fields=timeline&limit=2".to_owned();
    for expected in [2, 2, 1] {
        let (status, page) = view(&app, &advisor.token, &claire, &query).await;
        assert_eq!(status, 200, "{page}");
        let timeline = ok(&page, "timeline");
        assert_eq!(
            timeline["items"].as_array().unwrap().len(),
            expected,
            "{timeline}"
        );
        seen.extend(task_entries(timeline));
        match timeline["next_cursor"].as_str() {
            Some(cursor) => query = format!("?fields=timeline&limit=2&cursor={cursor}"),
            None => assert_eq!(expected, 1),
        }
    }
    assert_eq!(
        seen,
        [
            entry("completed", "Done already"),
            entry("created", "Tokyo follow-up"),
            entry("created", "Done already"),
            entry("created", "Send catalogue"),
            entry("created", "Call back"),
        ]
    );
}
