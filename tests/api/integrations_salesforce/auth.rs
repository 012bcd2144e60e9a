//! OAuth: both grants, one cached session, renewal after INVALID_SESSION_ID. How refusals and failures of
//! the token endpoint are classified is in the table of `errors.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use concierge::config::SalesforceAuth;
use concierge::integrations::ProviderError;
use concierge::integrations::salesforce::SalesforceClient;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{DATA, TOKEN_PATH, client_for, error_array, mount_token, order_id, settings_for};

const PRIVATE_KEY: &str = include_str!("../../fixtures/salesforce_jwt_test_key.pem");
const PUBLIC_KEY: &str = include_str!("../../fixtures/salesforce_jwt_test_key.pub.pem");

fn order_path() -> String {
    format!("{DATA}/sobjects/Order/{}", order_id())
}

async fn mount_order(server: &MockServer, bearer: &str) {
    Mock::given(method("GET"))
        .and(path(order_path()))
        .and(header("authorization", format!("Bearer {bearer}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Id": order_id()})))
        .mount(server)
        .await;
}

async fn mount_expired(server: &MockServer, bearer: &str) {
    Mock::given(method("GET"))
        .and(path(order_path()))
        .and(header("authorization", format!("Bearer {bearer}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_array(
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        )))
        .mount(server)
        .await;
}

/// Answers `token-1`, `token-2`, … in turn, counting the requests.
fn numbered_tokens(
    server: &MockServer,
    count: Arc<AtomicUsize>,
) -> impl Fn(&Request) -> ResponseTemplate + use<> {
    let instance = server.uri();
    move |_: &Request| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(super::token_body(&format!("token-{n}"), &instance))
    }
}

fn form_of(request: &Request) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(&request.body).expect("form body")
}

async fn token_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == TOKEN_PATH)
        .collect()
}

#[tokio::test]
async fn a_token_is_fetched_once_and_reused_across_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(super::token_body("token-1", &server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, "token-1").await;
    let client = client_for(&server);

    for _ in 0..3 {
        let order: Value = client.get("Order", order_id(), None).await.unwrap();
        assert_eq!(order["Id"], order_id());
    }
    // A clone shares the session.
    let _: Value = client.clone().get("Order", order_id(), None).await.unwrap();
}

#[tokio::test]
async fn client_credentials_token_request_sends_the_grant_and_the_client_secret() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    mount_order(&server, "token-1").await;
    let client = client_for(&server);

    let _: Value = client.get("Order", order_id(), None).await.unwrap();

    let requests = token_requests(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form = form_of(&requests[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "concierge-sandbox");
    assert_eq!(form["client_secret"], "sandbox-client-secret");
}

#[tokio::test]
async fn jwt_bearer_token_request_sends_an_rs256_assertion_for_the_integration_user() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    mount_order(&server, "token-1").await;
    let mut settings = settings_for(&server);
    settings.salesforce.auth = SalesforceAuth::JwtBearer;
    settings.salesforce.client_secret = None;
    settings.salesforce.username = Some("integration@concierge.example".into());
    settings.salesforce.private_key_pem = Some(SecretString::from(PRIVATE_KEY));
    settings.salesforce.audience = "https://login.salesforce.com".into();
    let client = SalesforceClient::new(&settings).unwrap();

    let _: Value = client.get("Order", order_id(), None).await.unwrap();

    let requests = token_requests(&server).await;
    assert_eq!(requests.len(), 1);
    let form = form_of(&requests[0]);
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let assertion = &form["assertion"];
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://login.salesforce.com"]);
    validation.set_issuer(&["concierge-sandbox"]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .expect("assertion verifies with the public key")
        .claims;
    assert_eq!(claims["sub"], "integration@concierge.example");
    let expires_in = claims["exp"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!(
        (170..=181).contains(&expires_in),
        "exp is about three minutes ahead: {expires_in}"
    );
}

#[tokio::test]
async fn a_jwt_bearer_client_without_a_readable_key_refuses_to_start() {
    let server = MockServer::start().await;
    let mut settings = settings_for(&server);
    settings.salesforce.auth = SalesforceAuth::JwtBearer;
    settings.salesforce.username = Some("integration@concierge.example".into());
    settings.salesforce.private_key_pem = Some(SecretString::from("not a key"));

    let error = SalesforceClient::new(&settings).unwrap_err().to_string();

    assert!(error.contains("private_key_pem"), "{error}");
    assert!(!error.contains("not a key"), "the key never shows: {error}");
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_the_call_replayed() {
    let server = MockServer::start().await;
    let tokens = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(numbered_tokens(&server, tokens.clone()))
        .mount(&server)
        .await;
    mount_expired(&server, "token-1").await;
    mount_order(&server, "token-2").await;
    let client = client_for(&server);

    let order: Value = client.get("Order", order_id(), None).await.unwrap();

    assert_eq!(order["Id"], order_id());
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "token endpoint hit twice");
}

#[tokio::test]
async fn concurrent_calls_refused_with_an_expired_session_share_one_renewal() {
    let server = MockServer::start().await;
    let tokens = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(numbered_tokens(&server, tokens.clone()))
        .mount(&server)
        .await;
    // token-1 works once, then expires for everyone holding it.
    Mock::given(method("GET"))
        .and(path(order_path()))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Id": order_id()})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_expired(&server, "token-1").await;
    mount_order(&server, "token-2").await;
    let client = client_for(&server);
    let _: Value = client.get("Order", order_id(), None).await.unwrap();

    let calls = (0..8).map(|_| {
        let client = client.clone();
        async move { client.get::<Value>("Order", order_id(), None).await }
    });
    let results = futures::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        2,
        "one renewal for all eight"
    );
}

#[tokio::test]
async fn a_second_refusal_after_renewal_is_an_auth_error() {
    let server = MockServer::start().await;
    let tokens = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(numbered_tokens(&server, tokens.clone()))
        .mount(&server)
        .await;
    mount_expired(&server, "token-1").await;
    mount_expired(&server, "token-2").await;
    let client = client_for(&server);

    let error = client
        .get::<Value>("Order", order_id(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::Auth { message, .. } if message.contains("INVALID_SESSION_ID")),
        "{error:?}"
    );
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_answer_without_an_instance_url_is_malformed_and_never_echoes_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "00Dsecret!token"})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client
        .get::<Value>("Order", order_id(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains("00Dsecret"));
}
