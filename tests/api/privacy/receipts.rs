//! How the erasure fan-out plugs into the request model: an erasure request with a step per system, each
//! completed with the system's receipt, shown on the request (and never an export's download link).

use chrono::Utc;
use concierge::privacy::{Kind, NewRequest, Receipt, Requester};
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{request_path, step};
use crate::helpers::{marketer_token, send, spawn_app};

#[tokio::test]
async fn an_erasure_steps_receipts_show_on_the_request_one_system_at_a_time() {
    let app = spawn_app().await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let profile: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO crm_profiles (id, brand_id, email) VALUES ($1, $2, 'eve@example.com') RETURNING id",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(brand.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let asker = Requester {
        kind: "staff".to_owned(),
        user_id: uuid::Uuid::now_v7(),
        role: Some("admin".to_owned()),
    };
    let mut conn = app.db.acquire().await.unwrap();
    let (id, created) = concierge::privacy::create_request(
        &mut conn,
        &NewRequest {
            brand_id: brand.id,
            profile_id: Some(profile),
            portal_user_id: None,
            kind: Kind::Erasure,
            requester: &asker,
            parts: &["salesforce", "whmcs"],
        },
    )
    .await
    .unwrap();
    assert!(created);
    let receipt = Receipt {
        system: "salesforce".to_owned(),
        reference: Some("003000000000001AAA".to_owned()),
        status: "anonymised".to_owned(),
        at: Utc::now(),
    };
    assert!(
        concierge::privacy::record_receipt(&mut conn, id, "salesforce", &receipt)
            .await
            .unwrap()
    );
    // Once only: a step already done takes no second receipt.
    assert!(
        !concierge::privacy::record_receipt(&mut conn, id, "salesforce", &receipt)
            .await
            .unwrap()
    );
    drop(conn);

    let response = send(
        &app,
        Method::GET,
        Some(&marketer),
        &request_path("maison", &id.to_string()),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["kind"], "erasure");
    assert_eq!(
        body["status"], "pending",
        "not complete while a step is pending"
    );
    assert_eq!(body["progress"], json!({ "done": 1, "total": 2 }));
    let salesforce = step(&body, "salesforce");
    assert_eq!(salesforce["status"], "completed");
    assert_eq!(salesforce["receipt"]["system"], "salesforce");
    assert_eq!(salesforce["receipt"]["reference"], "003000000000001AAA");
    assert_eq!(salesforce["receipt"]["status"], "anonymised");
    assert!(step(&body, "whmcs")["receipt"].is_null());
    assert!(body["download"].is_null());
}
