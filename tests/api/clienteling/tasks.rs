//! Tasks (issue 16): create, mine grouped by the local day in the assignee's store's zone (Tokyo and Paris
//! at one instant), complete, cancel, reassign, the reassignment of a client, the reminder job, the
//! published reads, scope on every endpoint, and journeys' `create_advisor_task`.

mod journey;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{Person, client, code, id_of, paris, person, send, tokyo};
use crate::helpers::{TestApp, customer_token, get_as, get_json_as, marketer_token, spawn_app};

pub const TASKS: &str = "/api/v1/brands/maison/clienteling/tasks";

pub async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    send(app, Method::POST, Some(token), TASKS, Some(body)).await
}

pub async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    let response = create(app, token, body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn act(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    body: Option<Value>,
) -> reqwest::Response {
    send(
        app,
        Method::POST,
        Some(token),
        &format!("{TASKS}/{id}/{what}"),
        body,
    )
    .await
}

/// The instant `zone`'s wall clock shows `time` on the local day `offset` days from today.
async fn local_day(app: &TestApp, zone: &str, offset: i32, time: &str) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT (((now() AT TIME ZONE $1)::date + $2) + $3::time) AT TIME ZONE $1")
        .bind(zone)
        .bind(offset)
        .bind(time)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn titles(group: &Value) -> Vec<String> {
    group
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn new_client(app: &TestApp, advisor: &Person, store: &str, email: &str) -> String {
    id_of(&client(app, &advisor.token, store, "Anne", "Roux", email).await)
}

#[tokio::test]
async fn a_task_is_mine_by_default_and_listed_by_its_local_day() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let anne = new_client(&app, &advisor, "paris-1", "anne@example.com").await;
    let zone = "Europe/Paris";
    for (title, offset) in [("Yesterday", -1), ("Today", 0), ("Later", 2)] {
        let task = created(
            &app,
            &advisor.token,
            json!({ "client_id": anne, "title": title, "notes": "Ask about\nthe bag",
                    "due_at": local_day(&app, zone, offset, "12:00").await, "priority": "high" }),
        )
        .await;
        assert_eq!(task["assignee_id"], advisor.id.to_string());
        assert_eq!(task["source"], "manual");
        assert_eq!(task["status"], "open");
        assert_eq!(task["store"], "paris-1");
    }
    let done = created(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "Done already", "due_at": Utc::now() }),
    )
    .await;
    assert_eq!(done["priority"], "normal");
    let response = act(&app, &advisor.token, &id_of(&done), "complete", None).await;
    assert_eq!(response.status(), 200);

    let mine = get_json_as(&app, &advisor.token, TASKS).await;

    assert_eq!(mine["timezone"], zone);
    assert_eq!(titles(&mine["overdue"]), ["Yesterday"]);
    assert_eq!(titles(&mine["due_today"]), ["Today"]);
    assert_eq!(titles(&mine["upcoming"]), ["Later"]);
    assert_eq!(mine["truncated"], false);
    let today: NaiveDate = mine["today"].as_str().unwrap().parse().unwrap();
    let expected: NaiveDate =
        sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Europe/Paris')::date")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(today, expected);
}

#[tokio::test]
async fn one_instant_is_today_in_one_store_and_another_day_in_the_other() {
    let app = spawn_app().await;
    let paris_advisor = paris(&app).await;
    let tokyo_advisor = tokyo(&app).await;
    let in_paris = new_client(&app, &paris_advisor, "paris-1", "p@example.com").await;
    let in_tokyo = new_client(&app, &tokyo_advisor, "tokyo-1", "t@example.com").await;
    // Between the next local midnights of the two zones: tomorrow in one, still today in the other.
    let next_tokyo = local_day(&app, "Asia/Tokyo", 1, "00:00").await;
    let next_paris = local_day(&app, "Europe/Paris", 1, "00:00").await;
    let instant = next_tokyo.min(next_paris) + (next_tokyo - next_paris).abs() / 2;
    for (advisor, client) in [(&paris_advisor, &in_paris), (&tokyo_advisor, &in_tokyo)] {
        created(
            &app,
            &advisor.token,
            json!({ "client_id": client, "title": "Same instant", "due_at": instant }),
        )
        .await;
    }

    let paris_list = get_json_as(&app, &paris_advisor.token, TASKS).await;
    let tokyo_list = get_json_as(&app, &tokyo_advisor.token, TASKS).await;

    assert_eq!(paris_list["timezone"], "Europe/Paris");
    assert_eq!(tokyo_list["timezone"], "Asia/Tokyo");
    let group = |list: &Value, tomorrow: bool| {
        if tomorrow {
            titles(&list["upcoming"])
        } else {
            titles(&list["due_today"])
        }
    };
    assert_eq!(group(&paris_list, instant >= next_paris), ["Same instant"]);
    assert_eq!(group(&tokyo_list, instant >= next_tokyo), ["Same instant"]);
    assert_ne!(
        instant >= next_paris,
        instant >= next_tokyo,
        "the instant splits the zones"
    );
    assert_ne!(paris_list["today"], Value::Null);
}

#[tokio::test]
async fn a_task_request_is_checked_field_by_field() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let colleague = tokyo(&app).await;
    let anne = new_client(&app, &advisor, "paris-1", "anne@example.com").await;
    let theirs = new_client(&app, &colleague, "tokyo-1", "tk@example.com").await;

    let response = create(
        &app,
        &advisor.token,
        json!({ "client_id": theirs, "title": " ", "due_at": Utc::now() + Duration::days(900),
                "priority": "urgent", "source": "journey" }),
    )
    .await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["client_id", "due_at", "priority", "source", "title"],
        "{body}"
    );
    // An advisor gives tasks to no one else.
    let response = create(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "Call", "due_at": Utc::now(), "assignee_id": colleague.id }),
    )
    .await;
    assert_eq!(response.status(), 403);
    // A wrong type is refused before any rule.
    let response = create(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "x", "due_at": "soon" }),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        get_json_as(&app, &advisor.token, TASKS).await["due_today"],
        json!([])
    );
}

#[tokio::test]
async fn complete_cancel_and_reassign_follow_the_tasks_state_and_the_callers_role() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let colleague = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let tokyo_advisor = tokyo(&app).await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let milan = person(
        &app,
        "ca.milan@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let anne = new_client(&app, &advisor, "paris-1", "anne@example.com").await;
    let task = created(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "Call", "due_at": Utc::now() }),
    )
    .await;
    let id = id_of(&task);
    let path = format!("{TASKS}/{id}");

    // A colleague of the store reads it but does not close it; another store and another brand do not see it.
    assert_eq!(get_as(&app, &colleague.token, &path).await.status(), 200);
    assert_eq!(
        act(&app, &colleague.token, &id, "complete", None)
            .await
            .status(),
        403
    );
    for outsider in [&tokyo_advisor, &milan] {
        assert_eq!(get_as(&app, &outsider.token, &path).await.status(), 404);
        assert_eq!(
            act(&app, &outsider.token, &id, "complete", None)
                .await
                .status(),
            404
        );
        assert_eq!(
            act(&app, &outsider.token, &id, "cancel", None)
                .await
                .status(),
            404
        );
        let reassign = act(
            &app,
            &outsider.token,
            &id,
            "reassign",
            Some(json!({ "assignee_id": outsider.id })),
        )
        .await;
        assert_eq!(reassign.status(), 404);
    }
    let atelier_path = format!("/api/v1/brands/atelier/clienteling/tasks/{id}");
    assert_eq!(
        get_as(&app, &milan.token, &atelier_path).await.status(),
        404
    );
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    assert_eq!(get_as(&app, &marketer, &path).await.status(), 403);
    let customer = customer_token(&app, "someone@example.com").await;
    assert_eq!(get_as(&app, &customer, TASKS).await.status(), 403);
    assert_eq!(
        app.client
            .get(app.url(TASKS))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Advisors do not reassign; a manager gives it to an advisor of a store they manage.
    let to_tokyo = json!({ "assignee_id": tokyo_advisor.id });
    assert_eq!(
        act(
            &app,
            &advisor.token,
            &id,
            "reassign",
            Some(to_tokyo.clone())
        )
        .await
        .status(),
        403
    );
    for outside in [
        json!({ "assignee_id": milan.id }),
        json!({ "assignee_id": Uuid::now_v7() }),
    ] {
        let response = act(&app, &manager.token, &id, "reassign", Some(outside)).await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "assignee_id");
    }
    let response = act(&app, &manager.token, &id, "reassign", Some(to_tokyo)).await;
    assert_eq!(response.status(), 200);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["assignee_id"], tokyo_advisor.id.to_string());
    // The new assignee sees it in their list (in their zone) and can read it; the manager sees their list.
    let theirs = get_json_as(&app, &tokyo_advisor.token, TASKS).await;
    assert_eq!(theirs["timezone"], "Asia/Tokyo");
    let all: Vec<Value> = ["overdue", "due_today", "upcoming"]
        .iter()
        .flat_map(|g| theirs[*g].as_array().unwrap().clone())
        .collect();
    assert_eq!(all.len(), 1);
    assert!(
        get_json_as(&app, &advisor.token, TASKS).await["due_today"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let by_manager = get_json_as(
        &app,
        &manager.token,
        &format!("{TASKS}?assignee={}", tokyo_advisor.id),
    )
    .await;
    assert_eq!(by_manager["assignee_id"], tokyo_advisor.id.to_string());
    assert_eq!(
        get_as(
            &app,
            &advisor.token,
            &format!("{TASKS}?assignee={}", tokyo_advisor.id)
        )
        .await
        .status(),
        403
    );

    // Complete twice answers the task as it is; a done task is not cancelled nor reassigned.
    let first = act(&app, &tokyo_advisor.token, &id, "complete", None).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "done");
    let again: Value = act(&app, &tokyo_advisor.token, &id, "complete", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["completed_at"], first["completed_at"]);
    let refused = act(&app, &tokyo_advisor.token, &id, "cancel", None).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(code(&refused.json().await.unwrap()), "task-closed");
    let refused = act(
        &app,
        &manager.token,
        &id,
        "reassign",
        Some(json!({ "assignee_id": advisor.id })),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let topics: Vec<String> = sqlx::query_scalar(
        "SELECT topic FROM outbox_events WHERE aggregate_type = 'clienteling_task' AND aggregate_id = $1 ORDER BY id",
    )
    .bind(&id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        topics,
        [
            "clienteling.task.created",
            "clienteling.task.reassigned",
            "clienteling.task.completed"
        ]
    );
    let missing = get_as(&app, &advisor.token, &format!("{TASKS}/{}", Uuid::now_v7())).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        get_as(&app, &advisor.token, &format!("{TASKS}/not-a-uuid"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn reassigning_a_client_moves_their_open_tasks_to_the_new_primary_advisor() {
    let app = spawn_app().await;
    let before = paris(&app).await;
    let after = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let anne = new_client(&app, &before, "paris-1", "anne@example.com").await;
    let other = new_client(&app, &before, "paris-1", "other@example.com").await;
    let open = created(
        &app,
        &before.token,
        json!({ "client_id": anne, "title": "Open", "due_at": Utc::now() }),
    )
    .await;
    let done = created(
        &app,
        &before.token,
        json!({ "client_id": anne, "title": "Done", "due_at": Utc::now() }),
    )
    .await;
    act(&app, &before.token, &id_of(&done), "complete", None).await;
    let elsewhere = created(
        &app,
        &before.token,
        json!({ "client_id": other, "title": "Other", "due_at": Utc::now() }),
    )
    .await;

    let response = send(
        &app,
        Method::POST,
        Some(&manager.token),
        &format!("/api/v1/brands/maison/clienteling/clients/{anne}/assignments"),
        Some(json!({ "primary": after.id })),
    )
    .await;
    assert_eq!(response.status(), 200);

    let read = |id: String| {
        let app = &app;
        let token = manager.token.clone();
        async move { get_json_as(app, &token, &format!("{TASKS}/{id}")).await }
    };
    assert_eq!(
        read(id_of(&open)).await["assignee_id"],
        after.id.to_string()
    );
    assert_eq!(
        read(id_of(&done)).await["assignee_id"],
        before.id.to_string()
    );
    assert_eq!(
        read(id_of(&elsewhere)).await["assignee_id"],
        before.id.to_string()
    );
    let theirs = get_json_as(&app, &after.token, TASKS).await;
    assert_eq!(titles(&theirs["due_today"]), ["Open"]);
}

#[tokio::test]
async fn the_reminder_marks_due_tasks_and_notifies_their_assignee_once() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let anne = new_client(&app, &advisor, "paris-1", "anne@example.com").await;
    let due = created(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "Due", "due_at": Utc::now() - Duration::minutes(1) }),
    )
    .await;
    let later = created(
        &app,
        &advisor.token,
        json!({ "client_id": anne, "title": "Later", "due_at": Utc::now() + Duration::days(1) }),
    )
    .await;
    let closed = created(&app, &advisor.token, json!({ "client_id": anne, "title": "Closed", "due_at": Utc::now() - Duration::minutes(5) })).await;
    act(&app, &advisor.token, &id_of(&closed), "cancel", None).await;

    let (first, second) = tokio::join!(
        concierge::clienteling::tasks::remind_due(&app.db, Utc::now()),
        concierge::clienteling::tasks::remind_due(&app.db, Utc::now()),
    );
    let third = concierge::clienteling::tasks::remind_due(&app.db, Utc::now())
        .await
        .unwrap();

    assert_eq!(
        first.unwrap() + second.unwrap(),
        1,
        "two runs at once remind the due task once"
    );
    assert_eq!(third, 0);
    let read = get_json_as(&app, &advisor.token, &format!("{TASKS}/{}", id_of(&due))).await;
    assert_ne!(read["reminded_at"], Value::Null);
    let read = get_json_as(&app, &advisor.token, &format!("{TASKS}/{}", id_of(&later))).await;
    assert_eq!(read["reminded_at"], Value::Null);
    let notified: Vec<(Uuid, String, Value)> = sqlx::query_as(
        "SELECT user_id, kind, payload FROM clienteling_notifications ORDER BY created_at",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0].0, advisor.id);
    assert_eq!(notified[0].1, "task_due");
    assert_eq!(notified[0].2["title"], "Due");
}

#[tokio::test]
async fn the_published_reads_give_a_clients_open_tasks_and_their_timeline() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let anne = new_client(&app, &advisor, "paris-1", "anne@example.com").await;
    let mut made = Vec::new();
    for (title, hours) in [("B", 5), ("A", 1), ("C", 9)] {
        made.push(created(&app, &advisor.token, json!({ "client_id": anne, "title": title, "due_at": Utc::now() + Duration::hours(hours) })).await);
    }
    act(&app, &advisor.token, &id_of(&made[2]), "complete", None).await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let anne: Uuid = anne.parse().unwrap();

    let open = concierge::clienteling::tasks::open_for_client(&app.db, brand.id, anne, 10)
        .await
        .unwrap();
    let first_page = concierge::clienteling::tasks::for_client(&app.db, brand.id, anne, None, 2)
        .await
        .unwrap();
    let last = first_page.last().unwrap();
    let second_page = concierge::clienteling::tasks::for_client(
        &app.db,
        brand.id,
        anne,
        Some((last.created_at, last.id)),
        2,
    )
    .await
    .unwrap();

    let open: Vec<&str> = open.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(open, ["A", "B"], "open only, earliest due first");
    let timeline: Vec<&str> = first_page
        .iter()
        .chain(&second_page)
        .map(|t| t.title.as_str())
        .collect();
    assert_eq!(timeline, ["C", "A", "B"], "newest first, closed ones too");
    let other = concierge::clienteling::tasks::open_for_client(&app.db, Uuid::now_v7(), anne, 10)
        .await
        .unwrap();
    assert!(other.is_empty(), "another brand's id finds nothing");
}
