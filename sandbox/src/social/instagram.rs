//! Instagram Graph: media containers, their status, publishing and the publishing quota.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use super::facebook::graph_error;
use super::graph_token;
use super::store::{Container, PublishedPost, Store};
use crate::SandboxState;

const QUOTA_DURATION_SECS: i64 = 86_400;

fn check_token(store: &Store, user: &str, token: Option<&str>) -> Result<(), HttpResponse> {
    match store.ig_users.get(user) {
        None => Err(graph_error(
            400,
            100,
            Some(33),
            "Unsupported request. Object does not exist or cannot be loaded due to missing permissions.",
        )),
        Some(expected) if Some(expected.as_str()) == token => Ok(()),
        Some(_) => Err(graph_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        )),
    }
}

fn params(request: &HttpRequest, body: &str) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        if let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body) {
            all.extend(
                map.into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned()))),
            );
        }
    } else {
        all.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default());
    }
    all
}

fn param(all: &[(String, String)], name: &str) -> Option<String> {
    all.iter()
        .find_map(|(k, v)| (k == name && !v.trim().is_empty()).then(|| v.clone()))
}

fn used_quota(store: &Store, user: &str) -> usize {
    let since = Utc::now() - Duration::seconds(QUOTA_DURATION_SECS);
    store
        .posts
        .iter()
        .filter(|p| p.network == "instagram" && p.account == user && p.created_at > since)
        .count()
}

pub async fn create_container(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (_, user) = path.into_inner();
    let text = String::from_utf8_lossy(&body).into_owned();
    let all = params(&request, &text);
    let token = graph_token(&request, Some(&text));
    let mut store = state.social.lock();
    if let Err(refused) = check_token(&store, &user, token.as_deref()) {
        return refused;
    }
    let Some(image_url) = param(&all, "image_url") else {
        return graph_error(
            400,
            100,
            None,
            "(#100) The parameter image_url is required.",
        );
    };
    if !image_url.starts_with("https://") && !image_url.starts_with("http://") {
        return graph_error(
            400,
            9004,
            Some(2207052),
            "Only photo or video can be accepted as media type.",
        );
    }
    let caption = param(&all, "caption").unwrap_or_default();
    if caption.chars().count() > 2200 {
        return graph_error(400, 100, Some(2207010), "The caption is too long.");
    }
    let id = store.next_id(18_000_000_000_000_000);
    let settles_to = store
        .instagram
        .next_container_status
        .take()
        .unwrap_or_else(|| "FINISHED".to_owned());
    let delay = i64::try_from(store.instagram.container_delay_ms).unwrap_or(i64::MAX);
    store.containers.push(Container {
        id: id.clone(),
        user,
        image_url,
        caption,
        ready_at: Utc::now() + Duration::milliseconds(delay),
        settles_to,
        published: false,
    });
    HttpResponse::Ok().json(json!({ "id": id }))
}

/// A container (`fields=status_code`) or a published media (`fields=permalink`).
pub async fn object(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, id) = path.into_inner();
    let token = graph_token(&request, None);
    let store = state.social.lock();
    if let Some(container) = store.containers.iter().find(|c| c.id == id) {
        if let Err(refused) = check_token(&store, &container.user, token.as_deref()) {
            return refused;
        }
        return HttpResponse::Ok()
            .json(json!({ "id": container.id, "status_code": container.status(Utc::now()) }));
    }
    if let Some(post) = store
        .posts
        .iter()
        .find(|p| p.network == "instagram" && p.id == id)
    {
        if let Err(refused) = check_token(&store, &post.account, token.as_deref()) {
            return refused;
        }
        return HttpResponse::Ok().json(json!({
            "id": post.id,
            "caption": post.text,
            "permalink": format!("https://www.instagram.com/p/Sbx{}/", post.id),
            "timestamp": post.created_at.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        }));
    }
    graph_error(
        400,
        100,
        Some(33),
        "Unsupported get request. Object does not exist.",
    )
}

#[derive(Deserialize)]
pub struct PublishQuery {
    creation_id: Option<String>,
}

pub async fn publish(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (_, user) = path.into_inner();
    let text = String::from_utf8_lossy(&body).into_owned();
    let all = params(&request, &text);
    let creation_id = web::Query::<PublishQuery>::from_query(request.query_string())
        .ok()
        .and_then(|q| q.into_inner().creation_id)
        .or_else(|| param(&all, "creation_id"));
    let token = graph_token(&request, Some(&text));
    let mut store = state.social.lock();
    if let Err(refused) = check_token(&store, &user, token.as_deref()) {
        return refused;
    }
    if used_quota(&store, &user) >= store.instagram.quota_total as usize {
        return graph_error(
            400,
            9,
            Some(2207042),
            "Application request limit reached: the account reached its content publishing limit.",
        );
    }
    let now = Utc::now();
    let Some(container) = store
        .containers
        .iter()
        .find(|c| Some(&c.id) == creation_id.as_ref() && c.user == user)
        .cloned()
    else {
        return graph_error(400, 100, Some(33), "(#100) The creation_id is not valid.");
    };
    match container.status(now) {
        "FINISHED" => {}
        "PUBLISHED" => {
            return graph_error(
                400,
                9007,
                Some(2207006),
                "The media has already been published.",
            );
        }
        _ => {
            return graph_error(
                400,
                9007,
                Some(2207027),
                "Media ID is not available: the media is not ready for publishing.",
            );
        }
    }
    let id = store.next_id(17_900_000_000_000_000);
    if let Some(stored) = store.containers.iter_mut().find(|c| c.id == container.id) {
        stored.published = true;
    }
    store
        .media_containers
        .insert(id.clone(), container.id.clone());
    store.posts.push(PublishedPost {
        network: "instagram",
        id: id.clone(),
        account: user,
        text: container.caption,
        link: None,
        image_url: Some(container.image_url),
        created_at: now,
    });
    HttpResponse::Ok().json(json!({ "id": id }))
}

pub async fn publishing_limit(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, user) = path.into_inner();
    let token = graph_token(&request, None);
    let store = state.social.lock();
    if let Err(refused) = check_token(&store, &user, token.as_deref()) {
        return refused;
    }
    HttpResponse::Ok().json(json!({ "data": [{
        "quota_usage": used_quota(&store, &user),
        "config": { "quota_total": store.instagram.quota_total, "quota_duration": QUOTA_DURATION_SECS },
    }] }))
}

pub async fn media(
    state: web::Data<SandboxState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, user) = path.into_inner();
    let token = graph_token(&request, None);
    let store = state.social.lock();
    if let Err(refused) = check_token(&store, &user, token.as_deref()) {
        return refused;
    }
    let data: Vec<_> = store
        .posts
        .iter()
        .rev()
        .filter(|p| p.network == "instagram" && p.account == user)
        .map(|p| {
            json!({
                "id": p.id,
                "caption": p.text,
                "timestamp": p.created_at.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "data": data }))
}
