use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use concierge::config::SigningKeySettings;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use super::{access, get_with, signed_in};
use crate::helpers::{TestOptions, fresh_database, spawn_app, spawn_app_with};

/// A second Ed25519 key, unknown to the default configuration.
const OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGQkyak2mX9LxMX4EMRLonTx+Q2/ExhQ4zTeuQcmMQmX\n-----END PRIVATE KEY-----\n";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn configured_key(app: &crate::helpers::TestApp) -> (String, EncodingKey) {
    use secrecy::ExposeSecret;
    let key = &app.state.settings.auth.signing_keys[0];
    (
        key.kid.clone(),
        EncodingKey::from_ed_pem(key.private_key_pem.expose_secret().as_bytes()).unwrap(),
    )
}

fn forge(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[tokio::test]
async fn access_tokens_carry_the_expected_claims_and_header() {
    let app = spawn_app().await;
    let login = signed_in(&app, "claims@example.com").await;
    let token = access(&login);

    let header = jsonwebtoken::decode_header(&token).unwrap();
    let claims = claims(&token);

    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("dev-2026-11"));
    for claim in ["sub", "sid", "roles", "iat", "exp", "iss", "aud", "jti"] {
        assert!(claims.get(claim).is_some(), "{claim} missing: {claims}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert_eq!(login["expires_in"], 900);
    assert_eq!(claims["roles"], json!(["customer"]));
}

#[tokio::test]
async fn a_token_verifies_with_a_standard_library_using_only_the_jwks() {
    let app = spawn_app().await;
    let token = access(&signed_in(&app, "jwks@example.com").await);

    let jwks: JwkSet = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["concierge-api"]);
    validation.set_issuer(&["concierge"]);

    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    assert_eq!(decoded.claims["iss"], "concierge");
}

#[tokio::test]
async fn tampered_unsigned_foreign_expired_and_misaddressed_tokens_are_refused() {
    let app = spawn_app().await;
    let token = access(&signed_in(&app, "forgery@example.com").await);
    let genuine = claims(&token);
    let (kid, key) = configured_key(&app);
    let now = chrono::Utc::now().timestamp();

    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut elevated = genuine.clone();
    elevated["roles"] = json!(["admin"]);
    parts[1] = URL_SAFE_NO_PAD.encode(elevated.to_string());
    let tampered = parts.join(".");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string()),
        URL_SAFE_NO_PAD.encode(genuine.to_string())
    );
    let foreign = forge(
        &kid,
        &EncodingKey::from_ed_pem(OTHER_KEY.as_bytes()).unwrap(),
        &genuine,
    );
    let mut expired = genuine.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 1800);
    let mut misaddressed = genuine.clone();
    misaddressed["aud"] = json!("someone-else");
    let mut wrong_issuer = genuine.clone();
    wrong_issuer["iss"] = json!("evil");

    for (name, forged) in [
        ("tampered", tampered),
        ("alg none", unsigned),
        ("wrong key", foreign),
        ("expired", forge(&kid, &key, &expired)),
        ("wrong audience", forge(&kid, &key, &misaddressed)),
        ("wrong issuer", forge(&kid, &key, &wrong_issuer)),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let response = get_with(&app, "/api/v1/auth/me", &forged).await;
        assert_eq!(response.status(), 401, "{name}");
    }
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &token).await.status(),
        200,
        "the genuine token still works"
    );
}

#[tokio::test]
async fn tokens_signed_with_a_retired_key_keep_verifying_after_rotation() {
    let database = fresh_database().await;
    let before = spawn_app_with(TestOptions {
        database: Some(database.clone()),
        ..Default::default()
    })
    .await;
    let old_token = access(&signed_in(&before, "rotation@example.com").await);
    let rotated = spawn_app_with(TestOptions {
        database: Some(database),
        configure: Box::new(|settings| {
            let old = settings.auth.signing_keys[0].clone();
            settings.auth.signing_keys = vec![
                SigningKeySettings {
                    kid: "next-2027".into(),
                    private_key_pem: OTHER_KEY.to_owned().into(),
                },
                old,
            ];
        }),
        ..Default::default()
    })
    .await;

    assert_eq!(
        get_with(&rotated, "/api/v1/auth/me", &old_token)
            .await
            .status(),
        200
    );
    let new_token = access(&signed_in(&rotated, "rotation@example.com").await);
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("next-2027")
    );
    let jwks: Value = rotated
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}
