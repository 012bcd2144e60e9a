//! atk13's review of appointments: what a caller reaches beyond their stores. Each test was written
//! failing, before its fix.

use chrono::{Duration, SecondsFormat};
use reqwest::Method;
use serde_json::Value;

use super::appointments::{at, availability_path, open_all_day, world};
use super::fixtures::{person, send};
use crate::helpers::spawn_app;

#[tokio::test]
async fn an_advisors_availability_at_a_store_outside_the_callers_reach_is_not_found() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // The world's manager covers Paris and Tokyo; Tokyo opens all day too.
    open_all_day(&app, &w.manager.token, "tokyo-1").await;
    // An advisor of both stores (Tokyo first), and a manager of Paris only.
    let both = person(
        &app,
        "ca.both@maison.example",
        "client_advisor",
        Some("maison"),
        &["tokyo-1", "paris-1"],
    )
    .await;
    let paris_manager = person(
        &app,
        "mgr.only-paris@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let window = format!(
        "from={}&to={}",
        at(0)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
            .replace('+', "%2B"),
        (at(0) + Duration::days(1))
            .to_rfc3339_opts(SecondsFormat::Secs, true)
            .replace('+', "%2B")
    );
    let path = |query: &str| format!("{}?{window}{query}", availability_path(&both.id));

    let tokyo = send(
        &app,
        Method::GET,
        Some(&paris_manager.token),
        &path("&store=tokyo-1"),
        None,
    )
    .await;
    assert_eq!(
        tokyo.status(),
        404,
        "Tokyo's hours are not the Paris manager's"
    );

    // Without a store, the first of the advisor's stores the caller reaches.
    let default = send(
        &app,
        Method::GET,
        Some(&paris_manager.token),
        &path(""),
        None,
    )
    .await;
    assert_eq!(default.status(), 200);
    let body: Value = default.json().await.unwrap();
    assert_eq!(body["store"], "paris-1", "{body}");
    // The advisor and a manager of Tokyo still see Tokyo.
    for token in [&both.token, &w.manager.token] {
        let response = send(
            &app,
            Method::GET,
            Some(token),
            &path("&store=tokyo-1"),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["timezone"], "Asia/Tokyo", "{body}");
    }
}
