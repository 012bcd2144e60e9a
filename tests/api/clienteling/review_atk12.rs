//! Review (atk12): the client book over a CRM profile a marketer merged into another.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, id_of, paris, send};
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
