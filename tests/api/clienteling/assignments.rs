//! `POST/GET …/clienteling/clients/{id}/assignments`: managers reassign; the history stays; the hooks for
//! what moves with the client run in the same transaction.

use std::sync::{Arc, Mutex};

use concierge::clienteling::{OnReassign, Reassignment};
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::fixtures::{CLIENTS, client, code, id_of, ids, paris, person, send, tokyo};
use crate::helpers::{TestOptions, get_as, get_json_as, problem, spawn_app, spawn_app_with};

#[derive(Default)]
struct Recorder(Mutex<Vec<Reassignment>>);

struct Hook(Arc<Recorder>);

impl OnReassign for Hook {
    fn name(&self) -> &'static str {
        "test"
    }

    fn moved<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        change: &'a Reassignment,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.0.0.lock().unwrap().push(change.clone());
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_manager_reassigns_a_client_the_history_stays_and_the_hook_runs() {
    let app = spawn_app().await;
    let recorder = Arc::new(Recorder::default());
    app.state
        .clienteling
        .reassign_hooks()
        .register(Arc::new(Hook(recorder.clone())));
    let first = paris(&app).await;
    let second = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let helper = tokyo(&app).await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let id = id_of(
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
    let path = format!("{CLIENTS}/{id}/assignments");

    let response = send(
        &app,
        Method::POST,
        Some(&manager.token),
        &path,
        Some(json!({
            "primary": second.id, "secondary": [first.id, helper.id]
        })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let current: Vec<(String, String)> = items
        .iter()
        .filter(|a| a["ended_at"].is_null())
        .map(|a| {
            (
                a["advisor_id"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(current[0], (second.id.to_string(), "primary".to_owned()));
    assert_eq!(current.len(), 3);
    let ended: Vec<&Value> = items.iter().filter(|a| !a["ended_at"].is_null()).collect();
    assert_eq!(ended.len(), 1, "the first primary assignment is history");
    assert_eq!(ended[0]["advisor_id"], first.id.to_string());
    assert_eq!(ended[0]["role"], "primary");
    {
        let seen = recorder.0.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].from, Some(first.id));
        assert_eq!(seen[0].to, second.id);
        assert_eq!(seen[0].client_id.to_string(), id);
    }

    let book: Value = get_json_as(
        &app,
        &second.token,
        "/api/v1/brands/maison/clienteling/book",
    )
    .await;
    assert_eq!(ids(&book), vec![id.clone()]);
    assert_eq!(
        book["items"][0]["primary_advisor_id"],
        second.id.to_string()
    );
    // The Tokyo advisor reaches the client as a secondary advisor, but not the Paris book.
    assert_eq!(
        get_as(&app, &helper.token, &format!("{CLIENTS}/{id}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        get_as(
            &app,
            &helper.token,
            "/api/v1/brands/maison/clienteling/stores/paris-1/book"
        )
        .await
        .status(),
        404
    );

    // The same primary again with the secondaries dropped: no hook (nobody changed hands), the helper loses reach.
    let response = send(
        &app,
        Method::POST,
        Some(&manager.token),
        &path,
        Some(json!({ "primary": second.id, "secondary": [] })),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(recorder.0.lock().unwrap().len(), 1);
    assert_eq!(
        get_as(&app, &helper.token, &format!("{CLIENTS}/{id}"))
            .await
            .status(),
        404
    );
    let history: Value = get_json_as(&app, &first.token, &path).await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        4,
        "every assignment ever made"
    );
}

#[tokio::test]
async fn only_managers_of_the_clients_store_reassign_and_only_to_the_brands_advisors() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let id = id_of(
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
    let path = format!("{CLIENTS}/{id}/assignments");
    let tokyo_manager = person(
        &app,
        "mgr.tokyo@maison.example",
        "manager",
        Some("maison"),
        &["tokyo-1"],
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
    let atelier = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let marketer = person(&app, "mk@maison.example", "marketer", Some("maison"), &[]).await;
    let body = json!({ "primary": advisor.id });

    let response = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        &path,
        Some(body.clone()),
    )
    .await;
    assert_eq!(response.status(), 403, "advisors do not reassign");
    problem(response).await;
    let response = send(
        &app,
        Method::POST,
        Some(&tokyo_manager.token),
        &path,
        Some(body.clone()),
    )
    .await;
    assert_eq!(response.status(), 404, "another store's manager");
    let response = send(
        &app,
        Method::POST,
        Some(&atelier.token),
        &path,
        Some(body.clone()),
    )
    .await;
    assert_eq!(response.status(), 404, "another brand");
    let response = send(
        &app,
        Method::POST,
        Some(&marketer.token),
        &path,
        Some(body.clone()),
    )
    .await;
    assert_eq!(response.status(), 403, "a marketer");
    let response = send(&app, Method::POST, None, &path, Some(body.clone())).await;
    assert_eq!(response.status(), 401);
    for (body, field) in [
        (json!({ "primary": atelier.id }), "primary"),
        (json!({ "primary": marketer.id }), "primary"),
        (json!({ "primary": uuid::Uuid::now_v7() }), "primary"),
        (
            json!({ "primary": advisor.id, "secondary": [advisor.id] }),
            "secondary[0]",
        ),
        (
            json!({ "primary": advisor.id, "secondary": [manager.id, manager.id] }),
            "secondary[1]",
        ),
    ] {
        let response = send(
            &app,
            Method::POST,
            Some(&manager.token),
            &path,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    for body in [
        json!({ "primary": "nope" }),
        json!({}),
        json!({ "primary": advisor.id, "extra": 1 }),
    ] {
        let response = send(
            &app,
            Method::POST,
            Some(&manager.token),
            &path,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
    }
    let response = get_as(&app, &tokyo_manager.token, &path).await;
    assert_eq!(response.status(), 404);
    assert_eq!(code(&problem(response).await), "not-found");
    // A manager is a valid primary too; the change lands.
    let response = send(
        &app,
        Method::POST,
        Some(&manager.token),
        &path,
        Some(json!({ "primary": manager.id })),
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// A reassignment checks its advisors on its own transaction's connection. It used to take a second pool
/// connection per advisor while holding the first: with a pool of two, two concurrent reassignments each
/// held one and waited for another until the pool's timeout (the pattern that starved booking).
#[tokio::test]
async fn concurrent_reassignments_each_use_one_connection_and_all_land_with_a_pool_of_two() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| {
            settings.database.max_connections = 2;
            settings.database.acquire_timeout_ms = 3000;
        }),
        ..TestOptions::default()
    })
    .await;
    let first = paris(&app).await;
    let second = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let helper = tokyo(&app).await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let mut paths = Vec::new();
    for n in 0..6 {
        let body = client(
            &app,
            &first.token,
            "paris-1",
            "Pool",
            &format!("Client{n}"),
            &format!("pool.{n}@example.com"),
        )
        .await;
        paths.push(format!("{CLIENTS}/{}/assignments", id_of(&body)));
    }

    let answers = futures::future::join_all(paths.iter().map(|path| {
        send(
            &app,
            Method::POST,
            Some(&manager.token),
            path,
            Some(json!({ "primary": second.id, "secondary": [first.id, helper.id] })),
        )
    }))
    .await;

    for (path, answer) in paths.iter().zip(answers) {
        assert_eq!(answer.status(), 200, "{path}");
        let body: Value = answer.json().await.unwrap();
        let current = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["ended_at"].is_null())
            .count();
        assert_eq!(current, 3, "{path}: {body}");
    }
}
