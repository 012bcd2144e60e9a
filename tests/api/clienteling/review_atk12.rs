//! Review (atk12): the client book over CRM profiles a marketer merged.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, code, id_of, paris, send, tokyo};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn an_edit_of_a_client_whose_profile_was_merged_away_lands_on_the_survivor() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let survivor = client(
        &app,
        &advisor.token,
        "paris-1",
        "Ann",
        "Old",
        "ann.old@example.com",
    )
    .await;
    let absorbed = client(
        &app,
        &advisor.token,
        "paris-1",
        "Ann",
        "New",
        "ann.new@example.com",
    )
    .await;
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/merges",
        Some(json!({"survivor_id": id_of(&survivor), "absorbed_ids": [id_of(&absorbed)]})),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);

    // The advisor still has the absorbed id (a link, a cached list) and edits the client through it.
    let response = send(
        &app,
        Method::PATCH,
        Some(&advisor.token),
        &format!("{CLIENTS}/{}", id_of(&absorbed)),
        Some(json!({"attributes": {"city": "Lyon"}})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["profile"]["attributes"]["city"], "Lyon",
        "the change was written to the merged-away profile nobody reads: {body}"
    );
    let card: Value = send(
        &app,
        Method::GET,
        Some(&advisor.token),
        &format!("{CLIENTS}/{}", id_of(&survivor)),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(card["profile"]["attributes"]["city"], "Lyon", "{card}");
}

#[tokio::test]
async fn a_person_in_the_book_under_a_profile_merged_away_is_not_filed_a_second_time() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let other_store = tokyo(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    // The CRM knew Ann first (an online order); the Paris boutique files her under a second address.
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/events",
        Some(
            json!([{"id": "o1", "type": "page_view", "occurred_at": chrono::Utc::now().to_rfc3339(),
            "identifiers": [{"kind": "email", "value": "ann.old@example.com"}],
            "properties": {"url": "https://maison.example/"}}]),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let online = answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let filed = client(
        &app,
        &advisor.token,
        "paris-1",
        "Ann",
        "New",
        "ann.new@example.com",
    )
    .await;
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/merges",
        Some(json!({"survivor_id": online, "absorbed_ids": [id_of(&filed)]})),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);

    // Ann is Paris's client: Tokyo asking to file her (by either address) is told she is in another book.
    for email in ["ann.old@example.com", "ann.new@example.com"] {
        let response = send(
            &app,
            Method::POST,
            Some(&other_store.token),
            CLIENTS,
            Some(json!({
                "attributes": {"first_name": "Ann", "email": email},
                "store": "tokyo-1",
            })),
        )
        .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 409, "{email}: filed a second time: {body}");
        assert_eq!(code(&body), "client-exists", "{body}");
        assert!(
            !body.to_string().contains(&online),
            "no id of a client out of reach: {body}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM clienteling_clients")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_last_contact_follows_an_interaction_deleted_or_moved_back_in_time() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let ann = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Ann",
            "Lee",
            "ann@example.com",
        )
        .await,
    );
    let logged = send(
        &app,
        Method::POST,
        Some(&advisor.token),
        &format!("{CLIENTS}/{ann}/interactions"),
        Some(json!({"channel": "call", "context": "generic", "subject": "Called"})),
    )
    .await;
    assert_eq!(logged.status(), 201);
    let interaction: Value = logged.json().await.unwrap();
    let path = format!(
        "/api/v1/brands/maison/clienteling/interactions/{}",
        interaction["id"].as_str().unwrap()
    );
    let last_contact = || async {
        let card: Value = send(
            &app,
            Method::GET,
            Some(&advisor.token),
            &format!("{CLIENTS}/{ann}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        card["last_contacted_at"].clone()
    };
    let to_contact = || async {
        let page: Value = send(
            &app,
            Method::GET,
            Some(&advisor.token),
            &format!("{CLIENTS}?not_contacted_days=5"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        super::fixtures::ids(&page)
    };
    assert!(to_contact().await.is_empty(), "contacted just now");

    // The call was in fact ten days ago.
    let earlier = chrono::Utc::now() - chrono::Duration::days(10);
    let response = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&advisor.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"occurred_at": earlier.to_rfc3339()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(last_contact().await).expect("a last contact");
    assert!(
        (at - earlier).num_seconds().abs() < 2,
        "the last contact stayed at the time first logged: {at}"
    );
    assert_eq!(to_contact().await, vec![ann.clone()]);

    // And it was logged on the wrong client: deleted, Ann was never contacted.
    let response = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&advisor.token)
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        last_contact().await,
        Value::Null,
        "a deleted call still counts as a contact"
    );
    assert_eq!(to_contact().await, vec![ann]);
}
