//! CSV upload into a static segment.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{brand_id, create, members, post, profile};
use crate::helpers::{TestApp, marketer_token, spawn_app};

async fn upload(
    app: &TestApp,
    token: &str,
    segment: &str,
    query: &str,
    csv: String,
) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/segments/{segment}/members/csv{query}"
        )))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_csv_adds_and_removes_members_in_chunks_and_reports_every_bad_row() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let atelier = brand_id(&app, "atelier").await;
    sqlx::query("INSERT INTO crm_profiles (id, brand_id) SELECT gen_random_uuid(), $1 FROM generate_series(1, 2300)")
        .bind(maison)
        .execute(&app.db)
        .await
        .unwrap();
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM crm_profiles WHERE brand_id = $1 ORDER BY id")
            .bind(maison)
            .fetch_all(&app.db)
            .await
            .unwrap();
    let foreign = profile(&app, atelier, json!({})).await;
    let segment = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "list", "name": "List", "kind": "static"}),
    )
    .await;
    let id = segment["id"].as_str().unwrap().to_owned();
    let mut csv = String::from("name,profile_id\n");
    for profile in &ids {
        csv.push_str(&format!("someone,{profile}\n"));
    }
    csv.push_str(&format!(
        "dup,{}\nforeign,{foreign}\nbad,not-an-id\n\"quoted, name\",\"{}\"\n",
        ids[0], ids[1]
    ));
    let (status, report) = upload(&app, &token, &id, "", csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"], 2304);
    assert_eq!(report["chunks"], 3);
    assert_eq!(report["added"], 2300);
    assert_eq!(report["unchanged"], 2, "the repeated rows");
    assert_eq!(report["unknown"], 1, "another brand's profile");
    assert_eq!(report["invalid"], 1);
    // Invalid rows are found as they are read, unknown ones when their chunk is resolved.
    let mut lines: Vec<i64> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_i64().unwrap())
        .collect();
    lines.sort();
    assert_eq!(lines, vec![2303, 2304]);
    assert_eq!(members(&app, &id).await.len(), 2300);

    // By email, removing.
    let ann = profile(&app, maison, json!({})).await;
    sqlx::query("INSERT INTO crm_identifiers (brand_id, kind, value, profile_id, source) VALUES ($1, 'email', 'ann@example.com', $2, 'test')")
        .bind(maison)
        .bind(ann)
        .execute(&app.db)
        .await
        .unwrap();
    let (_, report) = upload(&app, &token, &id, "", "email\nANN@example.com\n".into()).await;
    assert_eq!(report["added"], 1, "{report}");
    let (_, report) = upload(
        &app,
        &token,
        &id,
        "?mode=remove",
        "email\nann@example.com\nnobody@example.com\n".to_owned(),
    )
    .await;
    assert_eq!(
        (report["removed"].as_i64(), report["unknown"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert!(!members(&app, &id).await.contains(&ann));

    // Refused: no usable header, not CSV, a dynamic segment, an unknown mode.
    let (status, _) = upload(&app, &token, &id, "", "name\nx\n".into()).await;
    assert_eq!(status, 422);
    let (status, _) = upload(&app, &token, &id, "", "".into()).await;
    assert_eq!(status, 422);
    let (status, _) = upload(&app, &token, &id, "?mode=sideways", "email\n".into()).await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{id}/members/csv"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 415);
    let dynamic = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "d", "name": "D", "rule": {"attribute": "tier", "op": "exists"}}),
    )
    .await;
    let (status, _) = upload(
        &app,
        &token,
        dynamic["id"].as_str().unwrap(),
        "",
        "email\n".into(),
    )
    .await;
    assert_eq!(status, 409);
    // Another brand's marketer cannot upload into it.
    let atelier_token = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let (status, _) = upload(&app, &atelier_token, &id, "", "email\n".into()).await;
    assert_eq!(status, 404);
}
