//! The token endpoint (client credentials, JWT bearer) and the session check of the REST API.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, Org, client_credentials_token, error_code, sandbox_url, spawn_sandbox_with};
use crate::helpers::spawn_sandbox;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A throw-away RSA key pair for the JWT bearer flow (generated for these tests only).
const PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCPx9ZJqVe9/Kyh
KAC1eRFEBTH7Ym+svAvEhUUrfNNTwmLbi5kBctI1ESM9kA0J1uoE+UvQIjGD5KWD
9v7J0Kmc1gPKu9AHtn95TutgnzXScVCgYQYrYyzwsHXcvLtLhVsQdHkco8N5aPDQ
N4bfbZIZMUnhsjPCOLJbAVI5aefaYHmBeDHCo1UwOeltETMDzheNVUUNZMvyU27R
H52sMy0cHNoWoW9FKk0W83WWmnr8Vs5PJpRF2+WdDC1LP7hYfuzz59oW5KsrgSg+
7/OzlURGEsGz2OcaCLX5YZZHkcINB5Q/ZjnWZEexJpbO7vB+XHbWnatk9zv/jBr6
fOKEbxZTAgMBAAECggEADp1T8UHWytdznp/nzopjUGQsy+4aBtdIZO3c9YonGuTv
0nwSjdyjdERtLhVF1gGz4NSMObg4Cz2C+3JwPIhKrUfts746a4ZH18dHUpdsS5s8
BElIbMGUcFSnbkv6x7bi5j3Ij7ovpNgfXjK+sVg8WPYzGc9Yxn2n12s/ddmHeSFd
PFgQ4U7vWxvEqjUrpsZRcGO5oNmmXW1P9/y8YtBy5PIsm8gOcc8miCzaW9f46paJ
dOTQCxsfZkj5XXpMn5hoD2ZOz0YL69yyqs2iyjHYSUMskNBxCddcO/go5DSv1EZO
NxsibCSPcYrL1x5yICqwunLCQ62iEcZf+wEbV+jjVQKBgQDJQASuzNZdmsjKdRi0
Fi/ExSmTXoA/Dsqb70aIk7a7jtHIYfPgnXeTXBwrMyLuKunUvmV8hhHUSsHR+Dph
XZY9UMOXE4VTZKmaBgXR3uqGikXsqv0r+BchiPnlAX0WWLDJnK21wqiYcY1Zq6EX
NDSAsftTfGhGD7UWb3kzyFnL1QKBgQC25WGOZdmL68nw339LL0H36B5ljQaDlfny
IiIVq5AwPpsKGS9JmhchIcKnCQKAjoCDwvi905za1OE1AvwJLt1mpbi1PhlCOJva
kCN3P1fFoHV3+jJ0FZK7c6z3rqoVmWUCzd0tRdO4FVX41QzQ8jKIodHVnVr0pyvc
Y3d/Hpu1hwKBgQDHv5rmRLmgPrl8+ayDUmInU+poMyvnaq7/BwdjF/oPPzpJQa/m
CWVeBdaPqjnJWx6r4i6o4glgRLMLzO1lJpawVTFNCjsTAp60GbY9EJyG3Ud6GF0g
/yU2S9Z8znVxcKZH9hMUjRj59fruPcOuXEqgUge6XYjBwWVj11DdbMZz4QKBgGoS
pL7KcR5GVOtfI9t9//uAYsiwvrtoKvr0MuJwiwJ//LkhnBxKwulTRCpN/maCvyQr
2sl1Rj5gQnDVV0kYJg3XRUXQSyPt4u4itH7/fK9AfYBk2ggbTutqjkFjyn8WZM/4
hzMvkTftH9xd673vCcHWX/VM+qhzn+uEwJQ4M0RXAoGAPkKSXG6xsKrmIuT79qVi
RyEghNw+JrfFc1mfrf0j7gLZIRMs0fmyUCewJ3tGrQEDkCkasKFoNghs+CA2mC/h
jJ/RWhVsyeflQyNZPMhMEF54j1/h7pLUNO99JGPnScdLlptLQ+bLrwcrYVIbFNpf
mZM1UD946ulerpwFOwjdRZw=
-----END PRIVATE KEY-----";

const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAj8fWSalXvfysoSgAtXkR
RAUx+2JvrLwLxIVFK3zTU8Ji24uZAXLSNREjPZANCdbqBPlL0CIxg+Slg/b+ydCp
nNYDyrvQB7Z/eU7rYJ810nFQoGEGK2Ms8LB13Ly7S4VbEHR5HKPDeWjw0DeG322S
GTFJ4bIzwjiyWwFSOWnn2mB5gXgxwqNVMDnpbREzA84XjVVFDWTL8lNu0R+drDMt
HBzaFqFvRSpNFvN1lpp6/FbOTyaURdvlnQwtSz+4WH7s8+faFuSrK4EoPu/zs5VE
RhLBs9jnGgi1+WGWR5HCDQeUP2Y51mRHsSaWzu7wflx21p2rZPc7/4wa+nzihG8W
UwIDAQAB
-----END PUBLIC KEY-----";

fn assertion(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn claims(url: &str) -> Value {
    json!({
        "iss": "concierge-sandbox",
        "sub": "integration@concierge.sandbox",
        "aud": url,
        "exp": chrono::Utc::now().timestamp() + 180,
    })
}

async fn jwt_token(url: &str, assertion: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/services/oauth2/token"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn client_credentials_give_a_bearer_token_for_the_sandbox_itself() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();

    let response = client_credentials_token(&client, &sandbox.url).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["instance_url"], sandbox.url.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api");
    assert!(body["access_token"].as_str().unwrap().starts_with("00D"));
    assert!(body["issued_at"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(!body["signature"].as_str().unwrap().is_empty());
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/id/00D", sandbox.url))
    );
    let versions = client
        .get(format!("{}{API}/limits", sandbox.url))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.status(),
        StatusCode::NOT_FOUND,
        "authenticated, unknown resource"
    );
}

#[tokio::test]
async fn client_credentials_may_come_as_http_basic() {
    let sandbox = spawn_sandbox().await;

    let response = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sandbox.url))
        .basic_auth("concierge-sandbox", Some("sandbox-client-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_client_credentials_and_unknown_grants_are_oauth_errors() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let token = |form: Vec<(&'static str, &'static str)>| {
        let request = client
            .post(format!("{}/services/oauth2/token", sandbox.url))
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };

    let wrong_secret = token(vec![
        ("grant_type", "client_credentials"),
        ("client_id", "concierge-sandbox"),
        ("client_secret", "guess"),
    ])
    .await;
    let unknown_client = token(vec![
        ("grant_type", "client_credentials"),
        ("client_id", "someone-else"),
        ("client_secret", "sandbox-client-secret"),
    ])
    .await;
    let password_grant = token(vec![("grant_type", "password")]).await;

    assert_eq!(wrong_secret.0, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_secret.1["error"], "invalid_client");
    assert_eq!(unknown_client.1["error"], "invalid_client_id");
    assert_eq!(password_grant.0, StatusCode::BAD_REQUEST);
    assert_eq!(password_grant.1["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_jwt_assertion_with_the_right_claims_gives_a_token() {
    let url = sandbox_url(spawn_sandbox().await);

    let (status, body) = jwt_token(&url, &assertion(claims(&url))).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["instance_url"], url.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("signature").is_none());
}

#[tokio::test]
async fn jwt_claims_are_checked_even_without_a_registered_key() {
    let url = sandbox_url(spawn_sandbox().await);
    let with = |change: fn(&mut Value)| {
        let mut claims = claims(&url);
        change(&mut claims);
        assertion(claims)
    };

    let wrong_audience = jwt_token(
        &url,
        &with(|c| c["aud"] = "https://login.salesforce.com".into()),
    )
    .await;
    let expired = jwt_token(
        &url,
        &with(|c| c["exp"] = (chrono::Utc::now().timestamp() - 10).into()),
    )
    .await;
    let wrong_issuer = jwt_token(&url, &with(|c| c["iss"] = "another-app".into())).await;
    let no_subject = jwt_token(&url, &with(|c| c["sub"] = Value::Null)).await;
    let not_a_jwt = jwt_token(&url, "not.a.jwt").await;

    assert_eq!(wrong_audience.0, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_audience.1["error"], "invalid_grant");
    assert_eq!(wrong_audience.1["error_description"], "audience is invalid");
    assert_eq!(expired.1["error"], "invalid_grant");
    assert_eq!(wrong_issuer.1["error"], "invalid_client_id");
    assert_eq!(no_subject.1["error"], "invalid_grant");
    assert_eq!(not_a_jwt.1["error"], "invalid_grant");
}

#[tokio::test]
async fn once_a_public_key_is_registered_the_signature_must_match_it() {
    let url = sandbox_url(spawn_sandbox().await);
    let registered = reqwest::Client::new()
        .put(format!("{url}/__sandbox/salesforce/jwt-key"))
        .json(&json!({ "public_key_pem": PUBLIC_KEY_PEM }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::NO_CONTENT);
    let signed = assertion(claims(&url));
    let (head, _) = signed.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(342));

    let genuine = jwt_token(&url, &signed).await;
    let tampered = jwt_token(&url, &forged).await;

    assert_eq!(genuine.0, StatusCode::OK, "{}", genuine.1);
    assert_eq!(tampered.0, StatusCode::BAD_REQUEST);
    assert_eq!(tampered.1["error"], "invalid_grant");
}

#[tokio::test]
async fn a_malformed_public_key_is_refused() {
    let url = sandbox_url(spawn_sandbox().await);

    let response = reqwest::Client::new()
        .put(format!("{url}/__sandbox/salesforce/jwt-key"))
        .json(&json!({ "public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_rest_api_refuses_calls_without_a_valid_token() {
    let org = Org::start().await;
    let client = reqwest::Client::new();
    let url = org.url(&format!("{API}/sobjects/Account/001SBDEMO000001AAA"));

    let without = client.get(&url).send().await.unwrap();
    let forged = client
        .get(&url)
        .bearer_auth("00Dforged!token")
        .send()
        .await
        .unwrap();

    for response in [without, forged] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "INVALID_SESSION_ID");
        assert_eq!(body[0]["message"], "Session expired or invalid");
    }
}

#[tokio::test]
async fn expired_tokens_answer_invalid_session_until_the_client_authenticates_again() {
    let mut org = Org::start().await;
    let path = format!("{API}/sobjects/Account/001SBDEMO000001AAA");
    assert_eq!(org.get(&path).await.0, StatusCode::OK);

    let expired = reqwest::Client::new()
        .post(org.url("/__sandbox/salesforce/expire-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::NO_CONTENT);
    let (status, body) = org.get(&path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "INVALID_SESSION_ID");

    org.reauthenticate().await;
    assert_eq!(org.get(&path).await.0, StatusCode::OK);
}

#[tokio::test]
async fn tokens_stop_working_after_their_lifetime() {
    let url = spawn_sandbox_with(|config| config.token_ttl_secs = 1).await;
    let org = Org::on(url).await;
    let path = format!("{API}/sobjects/Account/001SBDEMO000001AAA");
    assert_eq!(org.get(&path).await.0, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    assert_eq!(org.get(&path).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_api_version_or_resource_is_not_found() {
    let org = Org::start().await;

    let (version_status, version_body) = org.get("/services/data/latest/sobjects/Account/x").await;
    let (resource_status, resource_body) = org.get(&format!("{API}/nothing/here")).await;

    assert_eq!(version_status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&version_body), "NOT_FOUND");
    assert_eq!(resource_status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&resource_body), "NOT_FOUND");
}
