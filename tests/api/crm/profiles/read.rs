//! `GET …/crm/profiles/{id}` and `GET …/crm/profiles` (identifier look-up and search).

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{assert_refused, code, merge_away, outsiders, profile, send};
use crate::helpers::{get_as, get_json_as, marketer_token, problem, spawn_app};

const BASE: &str = "/api/v1/brands/maison/crm/profiles";

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_profile_is_read_by_id_and_a_merged_away_id_answers_with_its_survivor() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let jane = profile(
        &app,
        "maison",
        &[("email", "jane@example.com")],
        json!({ "first_name": "Jane", "city": "Paris" }),
    )
    .await;
    let old = profile(&app, "maison", &[("scl_member", "1042")], json!({})).await;

    let read = get_as(&app, &token, &format!("{BASE}/{jane}")).await;
    assert_eq!(read.status(), 200);
    assert!(read.headers().get("content-location").is_none());
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["id"], jane.to_string());
    assert_eq!(body["brand"], "maison");
    assert_eq!(body["attributes"]["first_name"], "Jane");
    assert_eq!(
        body["identifiers"],
        json!([{ "kind": "email", "value": "jane@example.com" }])
    );

    merge_away(&app, old, jane).await;
    let read = get_as(&app, &token, &format!("{BASE}/{old}")).await;
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()["content-location"],
        format!("{BASE}/{jane}").as_str()
    );
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["id"], jane.to_string(), "the survivor's id");
    assert_eq!(body["identifiers"].as_array().unwrap().len(), 2);

    for missing in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let response = get_as(&app, &token, &format!("{BASE}/{missing}")).await;
        assert_eq!(response.status(), 404, "{missing}");
        assert_eq!(code(&problem(response).await), "not-found");
    }
}

#[tokio::test]
async fn another_brands_profiles_are_unreachable_and_outsiders_are_refused() {
    let app = spawn_app().await;
    let maison = marketer_token(&app, "mk@maison.example", "maison").await;
    let theirs = profile(&app, "atelier", &[("email", "ana@example.com")], json!({})).await;
    let ours = profile(&app, "maison", &[("email", "max@example.com")], json!({})).await;

    let response = get_as(&app, &maison, &format!("{BASE}/{theirs}")).await;
    assert_eq!(response.status(), 404);
    let found: Value = get_json_as(
        &app,
        &maison,
        &format!("{BASE}?identifier=email:ana@example.com"),
    )
    .await;
    assert_eq!(found["items"], json!([]));
    let all: Value = get_json_as(&app, &maison, BASE).await;
    assert_eq!(ids(&all), [ours.to_string()]);

    let outsiders = outsiders(&app).await;
    assert_refused(
        &app,
        &outsiders,
        Method::GET,
        &format!("{BASE}/{ours}"),
        None,
    )
    .await;
    assert_refused(&app, &outsiders, Method::GET, BASE, None).await;
    assert_refused(
        &app,
        &outsiders,
        Method::GET,
        &format!("{BASE}?q=max"),
        None,
    )
    .await;
}

#[tokio::test]
async fn an_identifier_finds_its_profile_whatever_its_spelling() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let jane = profile(
        &app,
        "maison",
        &[("email", "jane@example.com"), ("phone", "+33612345678")],
        json!({}),
    )
    .await;
    let old = profile(&app, "maison", &[("scl_member", "77")], json!({})).await;
    merge_away(&app, old, jane).await;

    for query in [
        "identifier=email:jane@example.com",
        "identifier=Email:%20JANE@Example.COM%20",
        "identifier=phone:%2B33%206%2012%2034%2056%2078",
        "identifier=scl_member:77",
    ] {
        let page: Value = get_json_as(&app, &token, &format!("{BASE}?{query}")).await;
        assert_eq!(ids(&page), [jane.to_string()], "{query}");
        assert!(page["next_cursor"].is_null());
    }
    let none: Value = get_json_as(
        &app,
        &token,
        &format!("{BASE}?identifier=email:nobody@example.com"),
    )
    .await;
    assert_eq!(none["items"], json!([]), "unknown: an empty list");

    for (query, field_code) in [
        ("identifier=email:not-an-email", "invalid_identifier"),
        ("identifier=x:123", "invalid_identifier_kind"),
        ("identifier=Phone:0612", "invalid_identifier"),
        ("identifier=nocolon", "invalid_identifier_kind"),
        ("identifier=email:jane@example.com&q=jane", "exclusive"),
    ] {
        let response = get_as(&app, &token, &format!("{BASE}?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body = problem(response).await;
        let codes: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&field_code), "{query}: {codes:?}");
    }
}

#[tokio::test]
async fn search_finds_name_email_and_phone_prefixes_with_a_stable_cursor() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let mut made = Vec::new();
    for (first, last, email, phone, tags) in [
        (
            "Jane",
            "Doe",
            "jane@example.com",
            "+33612345678",
            vec!["vip"],
        ),
        ("Janet", "Smith", "js@example.org", "+33698765432", vec![]),
        (
            "Paul",
            "Janssen",
            "paul@example.net",
            "+447700900123",
            vec!["vip", "paris"],
        ),
        (
            "Zoé",
            "Ãlvarez",
            "zoe@example.com",
            "+81312345678",
            vec!["vip"],
        ),
        (
            "Ann",
            "Lee",
            "100%_sure@example.com",
            "+12025550123",
            vec![],
        ),
    ] {
        made.push(
            profile(
                &app,
                "maison",
                &[("email", email)],
                json!({ "first_name": first, "last_name": last, "email": email, "phone": phone, "tags": tags }),
            )
            .await,
        );
    }
    let absorbed = profile(
        &app,
        "maison",
        &[("email", "janine@example.com")],
        json!({ "first_name": "Janine" }),
    )
    .await;
    merge_away(&app, absorbed, made[0]).await;
    profile(
        &app,
        "atelier",
        &[("email", "jan@example.com")],
        json!({ "first_name": "Jan" }),
    )
    .await;
    let id = |i: usize| made[i].to_string();

    let search = |query: String| {
        let (app, token) = (&app, &token);
        async move { ids(&get_json_as(app, token, &format!("{BASE}?{query}")).await) }
    };
    // Newest first; "jan" matches Jane, Janet (first names) and Janssen (last name), not Janine (merged away)
    // nor atelier's Jan.
    assert_eq!(search("q=JAN".into()).await, [id(2), id(1), id(0)]);
    assert_eq!(search("q=zo%C3%A9".into()).await, [id(3)]);
    assert_eq!(
        search("q=%C3%A3lv".into()).await,
        [id(3)],
        "lower-cased beyond ASCII"
    );
    assert_eq!(search("q=js@".into()).await, [id(1)]);
    assert_eq!(
        search("q=100%25_".into()).await,
        [id(4)],
        "% and _ are literal"
    );
    assert_eq!(search("q=10%25".into()).await, Vec::<String>::new());
    assert_eq!(
        search("q=%2B33%206".into()).await,
        [id(1), id(0)],
        "phone prefix, spaces ignored"
    );
    assert_eq!(search("q=447".into()).await, [id(2)]);
    assert_eq!(search("tag=vip".into()).await, [id(3), id(2), id(0)]);
    assert_eq!(search("q=jan&tag=vip".into()).await, [id(2), id(0)]);
    assert_eq!(search("q=nobody".into()).await, Vec::<String>::new());

    // Pages of a filtered search: the first filled from the newest profiles, the rest through the indexes.
    let mut seen = Vec::new();
    let mut query = "q=jan&limit=2".to_owned();
    loop {
        let page: Value = get_json_as(&app, &token, &format!("{BASE}?{query}")).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("q=jan&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [id(2), id(1), id(0)]);

    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page: Value = get_json_as(&app, &token, &format!("{BASE}?{query}")).await;
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = made.iter().map(ToString::to_string).collect();
    expected.reverse();
    assert_eq!(seen, expected, "every live profile once, newest first");
}

#[tokio::test]
async fn bad_search_parameters_are_problems() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let long = "a".repeat(101);
    for (query, status) in [
        ("limit=0".to_owned(), 422),
        ("limit=101".to_owned(), 422),
        ("limit=abc".to_owned(), 400),
        ("cursor=%%%".to_owned(), 400),
        ("cursor=bm90LWEtdXVpZA".to_owned(), 400),
        (format!("q={long}"), 422),
        ("q=%20%20".to_owned(), 422),
        ("tag=".to_owned(), 422),
        // PostgreSQL's text cannot hold U+0000: the query would fail (a 500) instead.
        ("tag=a%00b".to_owned(), 422),
        ("q=a%00b".to_owned(), 422),
        ("sort=name".to_owned(), 400),
    ] {
        let response = get_as(&app, &token, &format!("{BASE}?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        problem(response).await;
    }
    let ok = send(
        &app,
        Method::GET,
        Some(&token),
        &format!("{BASE}?limit=100"),
        None,
    )
    .await;
    assert_eq!(ok.status(), 200);
}
