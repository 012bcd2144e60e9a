//! Facebook Graph: a Page's feed.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use super::graph_token;
use super::store::{PublishedPost, Store};
use crate::SandboxState;

/// The Graph error object, as Facebook and Instagram answer every failure.
pub fn graph_error(status: u16, code: u32, subcode: Option<u32>, message: &str) -> HttpResponse {
    let mut error = json!({
        "message": message,
        "type": if code == 190 { "OAuthException" } else { "GraphMethodException" },
        "code": code,
        "fbtrace_id": format!("Sbx{}", uuid::Uuid::new_v4().simple()),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .json(json!({ "error": error }))
}

fn version_ok(version: &str) -> bool {
    version.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn with_usage(store: &Store, mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-app-usage", store.facebook_app_usage.to_string()),
        (
            "x-business-use-case-usage",
            store.facebook_business_usage.to_string(),
        ),
    ] {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
            headers.insert(
                actix_web::http::header::HeaderName::from_static(name),
                value,
            );
        }
    }
    response
}

fn check_token(store: &Store, page: &str, token: Option<&str>) -> Result<(), HttpResponse> {
    match store.pages.get(page) {
        None => Err(graph_error(
            400,
            100,
            Some(33),
            "Unsupported post request. Object does not exist or cannot be loaded due to missing permissions.",
        )),
        Some((expected, _)) if Some(expected.as_str()) == token => Ok(()),
        Some(_) => Err(graph_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        )),
    }
}

pub async fn publish(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (version, page) = path.into_inner();
    if !version_ok(&version) {
        return graph_error(400, 2500, None, "Unknown path components");
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let fields: Vec<(String, String)> = if request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .map(|map| {
                map.into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        serde_urlencoded::from_str(&text).unwrap_or_default()
    };
    let field = |name: &str| {
        fields
            .iter()
            .find_map(|(k, v)| (k == name && !v.trim().is_empty()).then(|| v.clone()))
    };
    let token = graph_token(&request, Some(&text));
    let mut store = state.social.lock();
    if let Err(refused) = check_token(&store, &page, token.as_deref()) {
        return with_usage(&store, refused);
    }
    let (message, link) = (field("message"), field("link"));
    if message.is_none() && link.is_none() {
        let refused = graph_error(400, 100, None, "(#100) Missing message or attachment.");
        return with_usage(&store, refused);
    }
    let post_id = store.next_id(1_000_000_000_000);
    let id = format!("{page}_{post_id}");
    store.posts.push(PublishedPost {
        network: "facebook",
        id: id.clone(),
        account: page,
        text: message.unwrap_or_default(),
        link,
        image_url: None,
        created_at: Utc::now(),
    });
    with_usage(&store, HttpResponse::Ok().json(json!({ "id": id })))
}

pub async fn feed(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (version, page) = path.into_inner();
    if !version_ok(&version) {
        return graph_error(400, 2500, None, "Unknown path components");
    }
    let token = graph_token(&request, None);
    let store = state.social.lock();
    if let Err(refused) = check_token(&store, &page, token.as_deref()) {
        return with_usage(&store, refused);
    }
    let data: Vec<_> = store
        .posts
        .iter()
        .rev()
        .filter(|post| post.network == "facebook" && post.account == page)
        .map(|post| {
            json!({
                "id": post.id,
                "message": post.text,
                "link": post.link,
                "created_time": post.created_at.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
            })
        })
        .collect();
    with_usage(&store, HttpResponse::Ok().json(json!({ "data": data })))
}
