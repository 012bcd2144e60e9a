//! `…/crm/templates`: CRUD with versions, validation naming field and placeholder, preview, access.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{create_template, profile, sms_template, template_id};
use crate::helpers::{get_as, marketer_token, problem, spawn_app, staff, token_of};

fn email_template() -> Value {
    json!({ "name": "Winter", "channel": "email", "purpose": "marketing", "fallback_language": "en",
            "variants": [
                { "language": "en", "subject": "For you, {{ profile.first_name }}", "body": "<p>Dear {{ profile.first_name }}, {{ brand.name }}</p>" },
                { "language": "fr", "subject": "Pour vous, {{ profile.first_name }}", "body": "<p>Cher {{ profile.first_name }}</p>" }
            ] })
}

async fn call(
    app: &crate::helpers::TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_marketer_creates_reads_replaces_and_deletes_a_versioned_template() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &email_template()).await;
    let path = format!("/api/v1/brands/maison/crm/templates/{id}");
    let read: Value = get_as(&app, &token, &path).await.json().await.unwrap();
    assert_eq!(read["version"], 1);
    assert_eq!(read["variants"].as_array().unwrap().len(), 2);
    let mut changed = email_template();
    changed["name"] = json!("Winter, again");
    let replaced = call(&app, &token, Method::PUT, &path, Some(&changed)).await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(
        (replaced["version"].clone(), replaced["name"].clone()),
        (json!(2), json!("Winter, again"))
    );
    let list: Value = get_as(&app, &token, "/api/v1/brands/maison/crm/templates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(&app, &token, Method::DELETE, &path, None)
            .await
            .status(),
        204
    );
    assert_eq!(get_as(&app, &token, &path).await.status(), 404);
    assert_eq!(
        call(&app, &token, Method::DELETE, &path, None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn validation_names_the_field_and_the_placeholder() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut unknown = sms_template("marketing");
    unknown["variants"][0]["body"] = json!("Hi {{ profile.frist_name }}");
    let mut syntax = sms_template("marketing");
    syntax["variants"][0]["body"] = json!("Hi {{ profile.first_name ");
    let mut advisor_in_marketing = sms_template("marketing");
    advisor_in_marketing["variants"][0]["body"] = json!("From {{ advisor.first_name }}");
    let mut no_subject = email_template();
    no_subject["variants"][1]
        .as_object_mut()
        .unwrap()
        .remove("subject");
    let mut sms_subject = sms_template("marketing");
    sms_subject["variants"][0]["subject"] = json!("Hi");
    let mut no_fallback = sms_template("marketing");
    no_fallback["fallback_language"] = json!("de");
    let mut twice = sms_template("marketing");
    twice["variants"] =
        json!([{ "language": "en", "body": "a" }, { "language": "en", "body": "b" }]);
    for (body, field, code, names) in [
        (
            unknown,
            "variants/0/body",
            "unknown_placeholder",
            Some("profile.frist_name"),
        ),
        (syntax, "variants/0/body", "template_syntax", None),
        (
            advisor_in_marketing,
            "variants/0/body",
            "unknown_placeholder",
            Some("advisor.first_name"),
        ),
        (no_subject, "variants/1/subject", "required", None),
        (sms_subject, "variants/0/subject", "not_allowed", None),
        (no_fallback, "fallback_language", "unknown_language", None),
        (twice, "variants/1/language", "duplicate_language", None),
    ] {
        let response = create_template(&app, &token, "maison", &body).await;
        assert_eq!(response.status(), 422, "{field} {code}");
        let problem = problem(response).await;
        let errors = problem["errors"].as_array().unwrap();
        let found = errors
            .iter()
            .find(|e| e["field"] == field && e["code"] == code);
        let found = found.unwrap_or_else(|| panic!("{field} {code} in {problem}"));
        if let Some(name) = names {
            assert!(found["message"].as_str().unwrap().contains(name), "{found}");
        }
    }
    // Not JSON for a template, or an unknown channel: a 4xx problem, never a 500.
    for body in [
        json!({ "name": "x" }),
        json!({ "name": "x", "channel": "fax", "purpose": "marketing", "fallback_language": "en", "variants": [] }),
    ] {
        let status = create_template(&app, &token, "maison", &body)
            .await
            .status();
        assert!(status.is_client_error(), "{status}");
    }
    let list: Value = get_as(&app, &token, "/api/v1/brands/maison/crm/templates")
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn preview_renders_for_a_profile_in_its_language_with_fallback_and_escaping() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &email_template()).await;
    let french = profile(
        &app,
        &token,
        "maison",
        json!({ "first_name": "<b>Zoé</b>", "locale": "fr-FR" }),
    )
    .await;
    let german = profile(
        &app,
        &token,
        "maison",
        json!({ "first_name": "Jan", "locale": "de-DE" }),
    )
    .await;
    let path = format!("/api/v1/brands/maison/crm/templates/{id}/preview");
    let answer: Value = call(
        &app,
        &token,
        Method::POST,
        &path,
        Some(&json!({ "profile_id": french })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(answer["language"], "fr");
    assert_eq!(answer["body"], "<p>Cher &lt;b&gt;Zoé&lt;&#x2f;b&gt;</p>");
    assert_eq!(
        answer["subject"], "Pour vous, <b>Zoé</b>",
        "subjects are plain text"
    );
    // German is not a variant and the brand speaks French: the fallback is English only when asked.
    let answer: Value = call(
        &app,
        &token,
        Method::POST,
        &path,
        Some(&json!({ "profile_id": german, "language": "de" })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        answer["language"], "fr",
        "the brand's locale before the fallback"
    );
    let sms = template_id(&app, &token, "maison", &json!({ "name": "x", "channel": "sms", "purpose": "marketing",
        "fallback_language": "en", "variants": [{ "language": "en", "body": "Hi {{ profile.first_name }}" }, { "language": "ja", "body": "こんにちは" }] })).await;
    let path = format!("/api/v1/brands/maison/crm/templates/{sms}/preview");
    let answer: Value = call(
        &app,
        &token,
        Method::POST,
        &path,
        Some(&json!({ "profile_id": german })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (answer["language"].clone(), answer["body"].clone()),
        (json!("en"), json!("Hi Jan"))
    );
    // Another brand's profile, or none: 404; a bad language: 422.
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs = profile(&app, &atelier, "atelier", json!({ "first_name": "Other" })).await;
    for profile_id in [theirs, Uuid::now_v7()] {
        let response = call(
            &app,
            &token,
            Method::POST,
            &path,
            Some(&json!({ "profile_id": profile_id })),
        )
        .await;
        assert_eq!(response.status(), 404);
    }
    let response = call(
        &app,
        &token,
        Method::POST,
        &path,
        Some(&json!({ "profile_id": german, "language": "not a tag" })),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn another_brand_advisors_customers_and_anonymous_callers_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let id = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let body = sms_template("marketing");
    for (who, token, path, expected) in [
        (
            "atelier marketer",
            atelier.as_str(),
            format!("/api/v1/brands/maison/crm/templates/{id}"),
            404,
        ),
        (
            "atelier marketer, own brand",
            atelier.as_str(),
            format!("/api/v1/brands/atelier/crm/templates/{id}"),
            404,
        ),
        (
            "advisor",
            advisor.as_str(),
            format!("/api/v1/brands/maison/crm/templates/{id}"),
            403,
        ),
        (
            "anonymous",
            "",
            format!("/api/v1/brands/maison/crm/templates/{id}"),
            401,
        ),
    ] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PUT, Some(&body)),
            (Method::DELETE, None),
        ] {
            let mut request = app.client.request(method.clone(), app.url(&path));
            if !token.is_empty() {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, expected, "{who} {method} {path}");
        }
    }
    let read: Value = get_as(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/templates/{id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(read["version"], 1, "nobody else changed it");
}

/// `|safe` and `{% autoescape false %}` are minijinja built-ins: either would put a profile's own text (a
/// first name set by a sign-up form or an event sender) into a brand's e-mail as markup.
#[tokio::test]
async fn neither_safe_nor_an_autoescape_block_unescapes_a_profile_value_in_an_email() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let hostile = profile(
        &app,
        &token,
        "maison",
        json!({ "first_name": "<script>alert(1)</script>", "locale": "en" }),
    )
    .await;
    let mut safe = email_template();
    safe["variants"] = json!([{ "language": "en", "subject": "Hi",
        "body": "<p>Dear {{ profile.first_name|safe }}</p>" }]);
    let id = template_id(&app, &token, "maison", &safe).await;
    let answer: Value = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/brands/maison/crm/templates/{id}/preview"),
        Some(&json!({ "profile_id": hostile })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        answer["body"], "<p>Dear &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>",
        "{answer}"
    );
    let mut block = email_template();
    block["variants"] = json!([{ "language": "en", "subject": "Hi",
        "body": "<p>Dear\n{%- autoescape false %}{{ profile.first_name }}{% endautoescape %}</p>" }]);
    let response = create_template(&app, &token, "maison", &block).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["errors"][0]["field"], "variants/0/body", "{body}");
    assert_eq!(body["errors"][0]["code"], "template_syntax", "{body}");
}
