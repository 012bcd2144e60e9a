//! `GET/POST …/crm/attributes`: the brand's custom attribute declarations.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{assert_refused, code, outsiders, send};
use crate::helpers::{get_json_as, marketer_token, problem, spawn_app};

const PATH: &str = "/api/v1/brands/maison/crm/attributes";

#[tokio::test]
async fn a_marketer_declares_typed_attributes_once_per_brand() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let other = marketer_token(&app, "mk@atelier.example", "atelier").await;
    for body in [
        json!({ "name": "vip_since", "type": "date", "description": "First VIP purchase" }),
        json!({ "name": "sizes", "type": "string_list", "enum_values": ["s", "m"] }),
        json!({ "name": "spend_goal", "type": "number" }),
        json!({ "name": "newsletter_v2", "type": "boolean" }),
        json!({ "name": "last_fitting", "type": "datetime" }),
        json!({ "name": "boutique", "type": "string" }),
    ] {
        let response = send(&app, Method::POST, Some(&token), PATH, Some(body.clone())).await;
        assert_eq!(response.status(), 201, "{body}");
        let made: Value = response.json().await.unwrap();
        assert_eq!(made["name"], body["name"]);
        assert_eq!(made["type"], body["type"]);
    }
    let list: Value = get_json_as(&app, &token, PATH).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "boutique",
            "last_fitting",
            "newsletter_v2",
            "sizes",
            "spend_goal",
            "vip_since"
        ]
    );
    assert_eq!(list["items"][3]["enum_values"], json!(["s", "m"]));

    let again = send(
        &app,
        Method::POST,
        Some(&token),
        PATH,
        Some(json!({ "name": "sizes", "type": "number" })),
    )
    .await;
    assert_eq!(again.status(), 409);
    assert_eq!(code(&problem(again).await), "attribute-exists");

    // Each brand has its own: atelier sees none of maison's and may use the same name.
    let theirs: Value = get_json_as(&app, &other, "/api/v1/brands/atelier/crm/attributes").await;
    assert_eq!(theirs["items"], json!([]));
    let response = send(
        &app,
        Method::POST,
        Some(&other),
        "/api/v1/brands/atelier/crm/attributes",
        Some(json!({ "name": "sizes", "type": "string" })),
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn bad_declarations_are_problems_and_outsiders_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    for (body, field_code) in [
        (
            json!({ "name": "email", "type": "string" }),
            Some("reserved_name"),
        ),
        (
            json!({ "name": "tags", "type": "string_list" }),
            Some("reserved_name"),
        ),
        (
            json!({ "name": "Shoe-Size", "type": "number" }),
            Some("invalid_name"),
        ),
        (
            json!({ "name": "x", "type": "number" }),
            Some("invalid_name"),
        ),
        (
            json!({ "name": "size", "type": "number", "enum_values": ["1"] }),
            Some("not_allowed"),
        ),
        (
            json!({ "name": "size", "type": "string", "enum_values": [] }),
            Some("invalid"),
        ),
        (
            json!({ "name": "size", "type": "string", "enum_values": ["a", "a"] }),
            Some("invalid"),
        ),
        (json!({ "name": "size", "type": "integer" }), None),
        (json!({ "name": "size" }), None),
        (
            json!({ "name": "size", "type": "string", "colour": "red" }),
            None,
        ),
    ] {
        let response = send(&app, Method::POST, Some(&token), PATH, Some(body.clone())).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        if let Some(field_code) = field_code {
            assert_eq!(problem["errors"][0]["code"], field_code, "{body}");
        }
    }
    let list: Value = get_json_as(&app, &token, PATH).await;
    assert_eq!(list["items"], json!([]));

    let outsiders = outsiders(&app).await;
    assert_refused(&app, &outsiders, Method::GET, PATH, None).await;
    assert_refused(
        &app,
        &outsiders,
        Method::POST,
        PATH,
        Some(json!({ "name": "size", "type": "number" })),
    )
    .await;
}
