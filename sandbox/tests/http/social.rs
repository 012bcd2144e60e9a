//! The social stand-ins over HTTP, as the networks answer: tokens checked, Graph error objects, the
//! Instagram container lifecycle and quota, X's rate-limit headers, duplicates and token rotation.

use serde_json::{Value, json};

use crate::helpers::spawn_sandbox;

const PAGE: &str = "104000000000001";
const IG: &str = "17841400000000001";

#[tokio::test]
async fn facebook_posts_to_a_page_with_its_token_and_refuses_another() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let url = format!("{}/facebook/v21.0/{PAGE}/feed", sandbox.url);
    let ok = client
        .post(&url)
        .bearer_auth("sandbox-facebook-page-token")
        .form(&[("message", "Hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("x-app-usage"));
    let body: Value = ok.json().await.unwrap();
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{PAGE}_")),
        "{body}"
    );
    let bad = client
        .post(&url)
        .bearer_auth("nope")
        .form(&[("message", "Hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], 190);
    assert!(body["error"]["fbtrace_id"].is_string());
    let empty = client
        .post(&url)
        .bearer_auth("sandbox-facebook-page-token")
        .form(&[("message", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.json::<Value>().await.unwrap()["error"]["code"], 100);
}

#[tokio::test]
async fn an_instagram_container_finishes_after_its_delay_and_publishes_once_within_the_quota() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let base = format!("{}/instagram/v21.0", sandbox.url);
    let token = "sandbox-instagram-token";
    client
        .put(format!("{}/__sandbox/social/instagram/config", sandbox.url))
        .json(&json!({"container_delay_ms": 300, "quota_total": 1}))
        .send()
        .await
        .unwrap();
    let container: Value = client
        .post(format!("{base}/{IG}/media"))
        .bearer_auth(token)
        .form(&[
            ("image_url", "https://cdn.example.com/a.jpg"),
            ("caption", "A"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = container["id"].as_str().unwrap();
    let status = |client: reqwest::Client, url: String| async move {
        let body: Value = client
            .get(url)
            .bearer_auth(token)
            .query(&[("fields", "status_code")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["status_code"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        status(client.clone(), format!("{base}/{id}")).await,
        "IN_PROGRESS"
    );
    let early: Value = client
        .post(format!("{base}/{IG}/media_publish"))
        .bearer_auth(token)
        .query(&[("creation_id", id)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(early["error"]["code"], 9007);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        status(client.clone(), format!("{base}/{id}")).await,
        "FINISHED"
    );
    let published: Value = client
        .post(format!("{base}/{IG}/media_publish"))
        .bearer_auth(token)
        .query(&[("creation_id", id)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(published["id"].is_string(), "{published}");
    assert_eq!(
        status(client.clone(), format!("{base}/{id}")).await,
        "PUBLISHED"
    );
    let limit: Value = client
        .get(format!("{base}/{IG}/content_publishing_limit"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limit["data"][0]["quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 1);
    let second: Value = client
        .post(format!("{base}/{IG}/media"))
        .bearer_auth(token)
        .form(&[("image_url", "https://cdn.example.com/b.jpg")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let over: Value = client
        .post(format!("{base}/{IG}/media_publish"))
        .bearer_auth(token)
        .query(&[("creation_id", second["id"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            over["error"]["code"].clone(),
            over["error"]["error_subcode"].clone()
        ),
        (json!(9), json!(2207042))
    );
}

#[tokio::test]
async fn x_answers_rate_limit_headers_429_with_reset_and_403_for_duplicates() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let url = format!("{}/x/2/tweets", sandbox.url);
    let token = "sandbox-x-access-token";
    let ok = client
        .post(&url)
        .bearer_auth(token)
        .json(&json!({"text": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    assert!(ok.headers().contains_key("x-rate-limit-remaining"));
    let dup = client
        .post(&url)
        .bearer_auth(token)
        .json(&json!({"text": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 403);
    assert!(dup.text().await.unwrap().contains("duplicate content"));
    client
        .put(format!("{}/__sandbox/social/x/rate-limit", sandbox.url))
        .json(&json!({"remaining": 0, "reset_in_secs": 30}))
        .send()
        .await
        .unwrap();
    let limited = client
        .post(&url)
        .bearer_auth(token)
        .json(&json!({"text": "Later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_none());
    let reset: i64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > chrono::Utc::now().timestamp() + 20);
    assert_eq!(
        client
            .post(&url)
            .bearer_auth("nope")
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn an_x_refresh_token_works_once_and_its_new_access_token_posts() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let token_url = format!("{}/x/2/oauth2/token", sandbox.url);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "sandbox-x-refresh-token"),
        ("client_id", "concierge-sandbox"),
    ];
    let unauthenticated = client.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let fresh: Value = client
        .post(&token_url)
        .basic_auth("concierge-sandbox", Some("sandbox-x-client-secret"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = fresh["access_token"].as_str().unwrap();
    assert_ne!(fresh["refresh_token"], "sandbox-x-refresh-token");
    let again = client
        .post(&token_url)
        .basic_auth("concierge-sandbox", Some("sandbox-x-client-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "a refresh token works once");
    let posted = client
        .post(format!("{}/x/2/tweets", sandbox.url))
        .bearer_auth(access)
        .json(&json!({"text": "New token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
}
