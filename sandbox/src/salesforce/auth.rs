//! `POST /services/oauth2/token`: the client credentials flow (form fields or HTTP Basic) and the JWT bearer
//! flow (an RS256 assertion whose signature is verified once a public key is registered through
//! `PUT /__sandbox/salesforce/jwt-key`; its claims are always checked).

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::base64;
use super::errors::OAuthError;
use super::seed::INTEGRATION_USER_ID;
use super::sessions::ORG_ID;
use crate::SandboxState;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

const UNSUPPORTED_GRANT: OAuthError =
    OAuthError::new("unsupported_grant_type", "grant type not supported");
const UNKNOWN_CLIENT: OAuthError =
    OAuthError::new("invalid_client_id", "client identifier invalid");
const BAD_CLIENT_SECRET: OAuthError =
    OAuthError::new("invalid_client", "invalid client credentials");
const INVALID_ASSERTION: OAuthError = OAuthError::new("invalid_grant", "invalid assertion");

pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> Result<HttpResponse, OAuthError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let param = |name: &str| {
        form.iter()
            .find_map(|(k, v)| (k == name).then_some(v.as_str()))
    };
    let instance_url = format!("http://{}", req.connection_info().host());
    match param("grant_type") {
        Some("client_credentials") => {
            let (client_id, client_secret) = match (param("client_id"), param("client_secret")) {
                (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
                _ => basic_credentials(&req).unwrap_or_default(),
            };
            check_client_credentials(&state, &client_id, &client_secret)?;
            Ok(issue(&state, &instance_url, "api", true))
        }
        Some(JWT_BEARER) => {
            check_assertion(
                &state,
                param("assertion").unwrap_or_default(),
                &instance_url,
            )?;
            Ok(issue(&state, &instance_url, "id api", false))
        }
        _ => Err(UNSUPPORTED_GRANT),
    }
}

fn issue(
    state: &SandboxState,
    instance_url: &str,
    scope: &str,
    with_signature: bool,
) -> HttpResponse {
    let ttl = Duration::from_secs(state.config.token_ttl_secs);
    let access_token = state.salesforce.sessions.issue(ttl);
    let mut body = json!({
        "access_token": access_token,
        "instance_url": instance_url,
        "id": format!("{instance_url}/id/{ORG_ID}/{INTEGRATION_USER_ID}"),
        "token_type": "Bearer",
        "scope": scope,
    });
    if with_signature && let Value::Object(fields) = &mut body {
        let issued_at = chrono::Utc::now().timestamp_millis().to_string();
        let signature = base64::encode(&rand::random::<[u8; 32]>());
        fields.insert("issued_at".into(), issued_at.into());
        fields.insert("signature".into(), signature.into());
    }
    HttpResponse::Ok().json(body)
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn check_client_credentials(
    state: &SandboxState,
    client_id: &str,
    client_secret: &str,
) -> Result<(), OAuthError> {
    let settings = &state.config.salesforce;
    if client_id.is_empty() || client_id != settings.client_id {
        return Err(UNKNOWN_CLIENT);
    }
    let expected = settings
        .client_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned());
    if expected.is_none_or(|expected| expected != client_secret) {
        return Err(BAD_CLIENT_SECRET);
    }
    Ok(())
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<f64>,
}

/// The audience may be the configured login host or the sandbox's own URL (as Salesforce accepts the My
/// Domain URL besides the login host).
fn check_assertion(
    state: &SandboxState,
    assertion: &str,
    instance_url: &str,
) -> Result<(), OAuthError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| INVALID_ASSERTION)?;
    if header.alg != Algorithm::RS256 {
        return Err(INVALID_ASSERTION);
    }
    let claims: AssertionClaims = match state.salesforce.sessions.jwt_public_key() {
        Some(pem) => {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| INVALID_ASSERTION)?;
            let mut validation = Validation::new(Algorithm::RS256);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            jsonwebtoken::decode(assertion, &key, &validation)
                .map_err(|_| INVALID_ASSERTION)?
                .claims
        }
        None => {
            jsonwebtoken::dangerous::insecure_decode(assertion)
                .map_err(|_| INVALID_ASSERTION)?
                .claims
        }
    };
    let settings = &state.config.salesforce;
    if claims.iss.as_deref() != Some(settings.client_id.as_str()) {
        return Err(UNKNOWN_CLIENT);
    }
    let audience_matches = |aud: &str| {
        let aud = aud.trim_end_matches('/');
        aud == settings.audience.trim_end_matches('/') || aud == instance_url
    };
    let audience_ok = match &claims.aud {
        Some(Value::String(aud)) => audience_matches(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(audience_matches),
        _ => false,
    };
    if !audience_ok {
        return Err(OAuthError::new("invalid_grant", "audience is invalid"));
    }
    let now = chrono::Utc::now().timestamp() as f64;
    if claims.exp.is_none_or(|exp| exp <= now) {
        return Err(OAuthError::new(
            "invalid_grant",
            "expired authorization code",
        ));
    }
    if claims.sub.is_none_or(|sub| sub.trim().is_empty()) {
        return Err(INVALID_ASSERTION);
    }
    Ok(())
}
