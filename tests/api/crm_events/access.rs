//! Who reaches the events API and the timeline, and brand isolation.

use serde_json::json;

use super::{ingest, page_view, profile_of, send, timeline};
use crate::helpers::{admin_token, marketer_token, spawn_app, staff, token_of};

#[tokio::test]
async fn a_brand_never_touches_another_brands_profiles_even_with_the_same_email() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let in_maison = ingest(
        &app,
        &maison,
        "maison",
        &json!([page_view(
            "same",
            "jane@example.com",
            "2026-10-01T10:00:00Z"
        )]),
    )
    .await;
    // The same event id and email in atelier: its own id space, its own profile.
    let in_atelier = ingest(
        &app,
        &atelier,
        "atelier",
        &json!([page_view(
            "same",
            "jane@example.com",
            "2026-10-02T10:00:00Z"
        )]),
    )
    .await;
    assert_eq!(in_atelier["results"][0]["status"], "accepted");
    assert_eq!(in_atelier["results"][0]["resolution"], "created");
    let (maison_jane, atelier_jane) = (profile_of(&in_maison, 0), profile_of(&in_atelier, 0));
    assert_ne!(maison_jane, atelier_jane);
    let maison_activities: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE profile_id = $1::uuid")
            .bind(&maison_jane)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        maison_activities, 1,
        "atelier's event did not land on maison's profile"
    );

    // Another brand's profile is a 404, like an unknown one, through either brand's path.
    let (status, _) = timeline(&app, &atelier, "atelier", &maison_jane, "").await;
    assert_eq!(status, 404);
    let (status, _) = timeline(&app, &atelier, "maison", &maison_jane, "").await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        &atelier,
        "maison",
        &json!([page_view("x", "a@example.com", "2026-10-01T10:00:00Z")]),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(&app, &atelier, "nowhere", &json!([])).await;
    assert_eq!(status, 404);

    // An admin reaches every brand.
    let admin = admin_token(&app, "root@example.com").await;
    let (status, page) = timeline(&app, &admin, "maison", &maison_jane, "").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn advisors_customers_and_anonymous_callers_are_refused() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mkt@maison.example", "maison").await;
    let answer = ingest(
        &app,
        &maison,
        "maison",
        &json!([page_view("a-1", "jane@example.com", "2026-10-01T10:00:00Z")]),
    )
    .await;
    let jane = profile_of(&answer, 0);
    let advisor = token_of(
        &staff(
            &app,
            "adv@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let manager = token_of(
        &staff(
            &app,
            "mgr@maison.example",
            "manager",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &json!({"email": "cust@example.com", "password": "a-long-and-unusual-passphrase",
                      "first_name": "Cus", "last_name": "Tomer"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 202);
    let login: serde_json::Value = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "cust@example.com", "password": "a-long-and-unusual-passphrase"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = token_of(&login);
    let batch = json!([page_view("a-2", "jane@example.com", "2026-10-02T10:00:00Z")]);
    for token in [&advisor, &manager] {
        let (status, body) = send(&app, token, "maison", &batch).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = timeline(&app, token, "maison", &jane, "").await;
        assert_eq!(status, 403);
    }
    let (status, _) = send(&app, &customer, "maison", &batch).await;
    assert_eq!(status, 403, "a customer is refused");
    let (status, _) = timeline(&app, &customer, "maison", &jane, "").await;
    assert_eq!(status, 403);
    let anonymous = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/events"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous = app
        .client
        .get(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{jane}/activities"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let other_method = app
        .client
        .delete(app.url("/api/v1/brands/maison/crm/events"))
        .bearer_auth(&maison)
        .send()
        .await
        .unwrap();
    assert_eq!(other_method.status(), 405);
    assert_eq!(
        super::activity_count(&app, &jane).await,
        1,
        "nothing refused was applied"
    );
}
