//! Who may ask for an export and read a request: the brand's marketers and admins; an advisor is refused;
//! another brand's marketer, profile or request is a 404; customers and anonymous callers are refused.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{ask_export, export_path, my_request_path, request_path};
use crate::helpers::{
    admin_token, customer_token, marketer_token, problem, send, spawn_app, staff, token_of,
};

#[tokio::test]
async fn only_the_brands_marketers_and_admins_may_ask_and_read_and_other_brands_see_nothing() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let admin = admin_token(&app, "admin@concierge.example").await;
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
    let path = export_path("maison", &profile);

    // Refused before anything is written.
    let anonymous = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for (token, status, who) in [
        (&advisor, 403, "an advisor"),
        (&customer, 403, "a customer"),
        (&atelier, 404, "another brand's marketer"),
    ] {
        let response = send(&app, Method::POST, Some(token), &path, None).await;
        assert_eq!(response.status(), status, "{who}");
        problem(response).await;
    }
    // The profile through another brand's path: no such profile there.
    let response = send(
        &app,
        Method::POST,
        Some(&atelier),
        &export_path("atelier", &profile),
        None,
    )
    .await;
    assert_eq!(response.status(), 404);
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let response = send(
            &app,
            Method::POST,
            Some(&maison),
            &export_path("maison", bad),
            None,
        )
        .await;
        assert_eq!(response.status(), 404, "{bad}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing recorded for a refused request");

    let request = ask_export(&app, &maison, "maison", &profile).await;
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(request["status"], "pending");
    assert_eq!(request["progress"]["done"], 0);
    // Asked again while it runs: the same request, not a second one.
    let again = ask_export(&app, &admin, "maison", &profile).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(
        again["requested_by"]["role"], "marketer",
        "the first asker's request"
    );

    let read = send(
        &app,
        Method::GET,
        Some(&admin),
        &request_path("maison", &id),
        None,
    )
    .await;
    assert_eq!(read.status(), 200);
    for (token, brand, status, who) in [
        (&atelier, "maison", 404, "another brand's marketer"),
        (&atelier, "atelier", 404, "another brand's path"),
        (&advisor, "maison", 403, "an advisor"),
        (&customer, "maison", 403, "a customer"),
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
    for bad in ["nope", "00000000-0000-0000-0000-000000000000"] {
        let response = send(
            &app,
            Method::GET,
            Some(&maison),
            &request_path("maison", bad),
            None,
        )
        .await;
        assert_eq!(response.status(), 404, "{bad}");
    }
    // A staff request is no customer's, even the customer the portal knows.
    let response = send(
        &app,
        Method::GET,
        Some(&customer),
        &my_request_path(&id),
        None,
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = send(
        &app,
        Method::GET,
        Some(&maison),
        &my_request_path(&id),
        None,
    )
    .await;
    assert_eq!(response.status(), 403, "staff have no /me requests");

    // A staff request about the customer's own portal account stays the staff's (who asked, and the
    // receipts): the customer asking for the same meanwhile is told so, not handed it.
    let user: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'cleo@example.com'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let about_them = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO privacy_requests (id, brand_id, portal_user_id, kind, requested_by_kind,
                                       requested_by_user, requested_by_role, due_at)
         SELECT $1, brand_id, $2, 'export', 'staff', requested_by_user, 'marketer', due_at
         FROM privacy_requests WHERE id = $3::uuid",
    )
    .bind(about_them)
    .bind(user)
    .bind(&id)
    .execute(&app.db)
    .await
    .unwrap();
    let response = send(
        &app,
        Method::GET,
        Some(&customer),
        &my_request_path(&about_them.to_string()),
        None,
    )
    .await;
    assert_eq!(response.status(), 404);
    let asked = send(
        &app,
        Method::POST,
        Some(&customer),
        "/api/v1/me/privacy/export",
        Some(serde_json::json!({ "password": crate::helpers::STAFF_PASSWORD })),
    )
    .await;
    assert_eq!(asked.status(), 409);
    assert_eq!(problem(asked).await["code"], "conflict");
}
