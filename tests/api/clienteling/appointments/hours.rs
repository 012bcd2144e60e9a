//! `GET/PUT …/clienteling/stores/{store}/opening-hours`.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::fixtures::{code, customer_token, paris, person, send, tokyo};
use super::hours_path;
use crate::helpers::{problem, spawn_app};

fn week() -> Value {
    json!({
        "intervals": [
            {"weekday": "tuesday", "opens": "14:00", "closes": "19:00"},
            {"weekday": "tuesday", "opens": "10:00", "closes": "13:00"},
            {"weekday": "saturday", "opens": "10:00", "closes": "20:00"},
        ],
        "closed_dates": ["2027-12-25", "2027-01-01"],
    })
}

#[tokio::test]
async fn a_manager_sets_the_week_and_the_stores_advisors_read_it() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let manager = person(
        &app,
        "mgr.hours@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let path = hours_path("paris-1");

    let never_set: Value = send(&app, Method::GET, Some(&advisor.token), &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(never_set["intervals"], json!([]));
    assert!(never_set["updated_at"].is_null());
    assert_eq!(never_set["timezone"], "Europe/Paris");

    let response = send(&app, Method::PUT, Some(&manager.token), &path, Some(week())).await;
    assert_eq!(response.status(), 200);
    let set: Value = response.json().await.unwrap();
    assert_eq!(
        set["intervals"],
        json!([
            {"weekday": "tuesday", "opens": "10:00", "closes": "13:00"},
            {"weekday": "tuesday", "opens": "14:00", "closes": "19:00"},
            {"weekday": "saturday", "opens": "10:00", "closes": "20:00"},
        ])
    );
    assert_eq!(set["closed_dates"], json!(["2027-01-01", "2027-12-25"]));
    let read: Value = send(&app, Method::GET, Some(&advisor.token), &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, set);

    // A second PUT replaces the whole week.
    let response = send(
        &app,
        Method::PUT,
        Some(&manager.token),
        &path,
        Some(json!({"intervals": [{"weekday": "monday", "opens": "09:00", "closes": "17:30"}]})),
    )
    .await;
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        replaced["intervals"],
        json!([{"weekday": "monday", "opens": "09:00", "closes": "17:30"}])
    );
    assert_eq!(replaced["closed_dates"], json!([]));
}

#[tokio::test]
async fn opening_hours_are_out_of_reach_outside_the_store() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let other_store = tokyo(&app).await;
    let other_brand = person(
        &app,
        "mgr@atelier.example",
        "manager",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let customer = customer_token(&app, "cleo@example.com").await;
    let path = hours_path("paris-1");

    let response = send(&app, Method::PUT, Some(&advisor.token), &path, Some(week())).await;
    assert_eq!(response.status(), 403, "advisors read only");
    for token in [&other_store.token, &other_brand.token] {
        assert_eq!(
            send(&app, Method::GET, Some(token), &path, None)
                .await
                .status(),
            404
        );
        assert_eq!(
            send(&app, Method::PUT, Some(token), &path, Some(week()))
                .await
                .status(),
            404
        );
    }
    assert_eq!(
        send(&app, Method::GET, Some(&customer), &path, None)
            .await
            .status(),
        403
    );
    assert_eq!(
        send(&app, Method::GET, None, &path, None).await.status(),
        401
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&advisor.token),
            &hours_path("nowhere"),
            None
        )
        .await
        .status(),
        404
    );
    // Atelier's store through Maison's path is no Maison store.
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&advisor.token),
            &hours_path("milan-1"),
            None
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn opening_hours_are_validated() {
    let app = spawn_app().await;
    let manager = person(
        &app,
        "mgr.valid@maison.example",
        "manager",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let path = hours_path("paris-1");
    let cases = [
        (
            json!({"intervals": [
                {"weekday": "monday", "opens": "10:00", "closes": "14:00"},
                {"weekday": "monday", "opens": "13:00", "closes": "18:00"},
            ]}),
            "intervals[1].opens",
            "overlapping",
        ),
        (
            json!({"intervals": [{"weekday": "monday", "opens": "18:00", "closes": "10:00"}]}),
            "intervals[0].closes",
            "before_opening",
        ),
        (
            json!({"intervals": [{"weekday": "someday", "opens": "10:00", "closes": "11:00"}]}),
            "intervals[0].weekday",
            "invalid",
        ),
        (
            json!({"intervals": [{"weekday": "monday", "opens": "25:00", "closes": "26:00"}]}),
            "intervals[0].opens",
            "invalid",
        ),
        (
            json!({"intervals": [{"weekday": "monday", "opens": "9:00", "closes": "24:00"}]}),
            "intervals[0].closes",
            "invalid",
        ),
        (
            json!({"intervals": [], "closed_dates": ["2027-02-30"]}),
            "closed_dates[0]",
            "invalid",
        ),
    ];
    for (body, field, reason) in cases {
        let response = send(
            &app,
            Method::PUT,
            Some(&manager.token),
            &path,
            Some(body.clone()),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(code(&problem), "validation-failed");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == reason),
            "{field} {reason} in {problem}"
        );
    }
    let too_many: Vec<Value> = (0..7)
        .map(|i| json!({"weekday": "friday", "opens": format!("{:02}:00", 8 + i), "closes": format!("{:02}:30", 8 + i)}))
        .collect();
    let response = send(
        &app,
        Method::PUT,
        Some(&manager.token),
        &path,
        Some(json!({ "intervals": too_many })),
    )
    .await;
    assert_eq!(response.status(), 422);
    let response = send(
        &app,
        Method::PUT,
        Some(&manager.token),
        &path,
        Some(json!({"intervals": [], "unknown": true})),
    )
    .await;
    assert!(matches!(response.status().as_u16(), 400 | 422));
}
