//! Profiles made directly through the CRM's functions (the way event ingest and the profiles API make them),
//! and the callers every endpoint is tried with.

use concierge::crm::identifiers::Identifier;
use concierge::crm::profile::Attributes;
use concierge::crm::resolve::{ResolveInput, resolve};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, demo_brands, marketer_token, problem, staff, token_of};
pub use crate::helpers::{customer_token, send};

pub async fn brand_id(app: &TestApp, slug: &str) -> Uuid {
    demo_brands(app).await;
    sqlx::query_scalar("SELECT id FROM brands WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A profile of `brand` with these identifiers (`("email", "jane@example.com")`) and attributes.
pub async fn profile(
    app: &TestApp,
    brand: &str,
    identifiers: &[(&str, &str)],
    attributes: Value,
) -> Uuid {
    let brand_id = brand_id(app, brand).await;
    let identifiers: Vec<Identifier> = identifiers
        .iter()
        .map(|(kind, value)| Identifier::parse(kind, value).unwrap())
        .collect();
    let attributes: Attributes = serde_json::from_value(attributes).unwrap();
    let mut tx = app.db.begin().await.unwrap();
    let resolution = resolve(
        &mut tx,
        brand_id,
        &ResolveInput {
            identifiers: &identifiers,
            attributes: &attributes,
            at: chrono::Utc::now(),
            source: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    resolution.profile_id
}

/// Marks `absorbed` as merged into `survivor`, as a merge leaves it (its identifiers moved to the survivor).
pub async fn merge_away(app: &TestApp, absorbed: Uuid, survivor: Uuid) {
    sqlx::query("UPDATE crm_identifiers SET profile_id = $2 WHERE profile_id = $1")
        .bind(absorbed)
        .bind(survivor)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_profiles SET merged_into = $2 WHERE id = $1")
        .bind(absorbed)
        .bind(survivor)
        .execute(&app.db)
        .await
        .unwrap();
}

/// The callers who must not reach a `maison` marketer endpoint, and the status each gets: anonymous 401, a
/// customer and a client advisor of the brand 403, a marketer of another brand 404.
pub async fn outsiders(app: &TestApp) -> Vec<(Option<String>, u16)> {
    let customer = customer_token(app, "cleo@example.com").await;
    let advisor = token_of(
        &staff(
            app,
            "ca@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let other = marketer_token(app, "mk@atelier.example", "atelier").await;
    vec![
        (None, 401),
        (Some(customer), 403),
        (Some(advisor), 403),
        (Some(other), 404),
    ]
}

/// Asserts every outsider is refused `method path` with its status, as a problem.
pub async fn assert_refused(
    app: &TestApp,
    outsiders: &[(Option<String>, u16)],
    method: Method,
    path: &str,
    body: Option<Value>,
) {
    for (token, status) in outsiders {
        let response = send(app, method.clone(), token.as_deref(), path, body.clone()).await;
        assert_eq!(response.status(), *status, "{method} {path} as {token:?}");
        problem(response).await;
    }
}

pub fn code(problem: &Value) -> &str {
    problem["code"].as_str().unwrap_or_default()
}
