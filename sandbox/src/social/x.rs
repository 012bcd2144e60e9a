//! X API v2: posts, a user's timeline and the OAuth 2.0 refresh-token grant.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use chrono::{Duration, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::bearer;
use super::store::{PublishedPost, Store, XToken};
use crate::SandboxState;

fn problem(status: StatusCode, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "title": title, "detail": detail, "type": "about:blank", "status": status.as_u16(),
    }))
}

fn user_of(store: &Store, request: &HttpRequest) -> Result<String, HttpResponse> {
    let unauthorized = || problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    let token = bearer(request).ok_or_else(unauthorized)?;
    let known = store.x_tokens.get(&token).ok_or_else(unauthorized)?;
    if known.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(unauthorized());
    }
    Ok(known.user.clone())
}

#[derive(Deserialize)]
pub struct NewTweet {
    text: Option<String>,
}

pub async fn tweet(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let mut store = state.social.lock();
    let user = match user_of(&store, &request) {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    let now = Utc::now();
    let window = store.x_window(&user, now).clone();
    let headers = |response: &mut HttpResponse, remaining: u32| {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-rate-limit-limit", window.limit.to_string()),
            ("x-rate-limit-remaining", remaining.to_string()),
            (
                "x-rate-limit-reset",
                window.reset_at.timestamp().to_string(),
            ),
        ] {
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
                headers.insert(
                    actix_web::http::header::HeaderName::from_static(name),
                    value,
                );
            }
        }
    };
    if window.remaining == 0 {
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "Too Many Requests",
        );
        headers(&mut response, 0);
        return response;
    }
    let remaining = window.remaining - 1;
    store.x_window(&user, now).remaining = remaining;
    let text = match serde_json::from_slice::<NewTweet>(&body)
        .ok()
        .and_then(|t| t.text)
    {
        Some(text) if !text.trim().is_empty() => text,
        _ => {
            let mut response = problem(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
            );
            headers(&mut response, remaining);
            return response;
        }
    };
    let duplicate = store
        .posts
        .iter()
        .any(|p| p.network == "x" && p.account == user && p.text == text);
    if duplicate {
        let mut response = problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not allowed to create a Tweet with duplicate content.",
        );
        headers(&mut response, remaining);
        return response;
    }
    let id = store.next_id(1_860_000_000_000_000_000);
    store.posts.push(PublishedPost {
        network: "x",
        id: id.clone(),
        account: user,
        text: text.clone(),
        link: None,
        image_url: None,
        created_at: now,
    });
    let mut response = HttpResponse::Created()
        .json(json!({ "data": { "id": id, "text": text, "edit_history_tweet_ids": [id] } }));
    headers(&mut response, remaining);
    response
}

pub async fn timeline(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let store = state.social.lock();
    let user = match user_of(&store, &request) {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    let wanted = path.into_inner();
    if wanted != user {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You can only read your own timeline here.",
        );
    }
    let data: Vec<_> = store
        .posts
        .iter()
        .rev()
        .filter(|p| p.network == "x" && p.account == user)
        .take(100)
        .map(|p| json!({ "id": p.id, "text": p.text, "created_at": p.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) }))
        .collect();
    let count = data.len();
    HttpResponse::Ok().json(json!({ "data": data, "meta": { "result_count": count } }))
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: String,
    refresh_token: Option<String>,
}

pub async fn token(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let invalid = |description: &str| {
        HttpResponse::BadRequest()
            .json(json!({ "error": "invalid_request", "error_description": description }))
    };
    let accepted = &state.config.x;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        accepted.client_id,
        accepted.client_secret.expose_secret()
    ));
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if presented != Some(expected.as_str()) {
        return HttpResponse::Unauthorized()
            .json(json!({ "error": "unauthorized_client", "error_description": "Missing valid authorization header" }));
    }
    if form.grant_type != "refresh_token" {
        return invalid("Unsupported grant_type.");
    }
    let mut store = state.social.lock();
    let Some(user) = form
        .refresh_token
        .as_ref()
        .and_then(|token| store.x_refresh.remove(token))
    else {
        return invalid("Value passed for the token was invalid.");
    };
    let ttl = i64::try_from(state.config.token_ttl_secs).unwrap_or(7200);
    let access = format!("x-at-{}", uuid::Uuid::new_v4().simple());
    let refresh = format!("x-rt-{}", uuid::Uuid::new_v4().simple());
    store.x_tokens.insert(
        access.clone(),
        XToken {
            user: user.clone(),
            expires_at: Some(Utc::now() + Duration::seconds(ttl)),
        },
    );
    store.x_refresh.insert(refresh.clone(), user);
    HttpResponse::Ok().json(json!({
        "token_type": "bearer",
        "expires_in": ttl,
        "access_token": access,
        "scope": "tweet.read tweet.write users.read offline.access",
        "refresh_token": refresh,
    }))
}
