//! For every path with an id: another account's record, requested with every documented method by each of its
//! intruders (another customer, another store's advisor, another brand's staff), answers 404 (or 403 where the
//! operation documents it), never 2xx. The owner's own GET of the same path succeeds, so the sweep is known to
//! name real records. A path whose id the sweep cannot name, or an operation whose body or header it cannot
//! build, fails the test: add the fixture (`fixtures.rs`), never a skip.

use reqwest::Method;
use serde_json::Value;

use super::fixtures::{Actor, Fixtures, Resolution};
use super::{documents_status, operations, path_parameters};
use crate::helpers::spawn_sandboxed_app;

/// A request the sweep can send, or why it cannot build one.
#[derive(Clone)]
struct Built {
    path: String,
    /// Of the path's most specific record (its last owned parameter).
    owner: Actor,
    intruders: &'static [Actor],
    body: Option<Value>,
    idempotency_key: bool,
    /// A record of a brand named below the brand itself (`/brands/{brand}/crm/profiles/{id}`), which another
    /// brand's staff also try under their own brand.
    brand_record: bool,
}

fn build(
    fixtures: &Fixtures,
    template: &str,
    method: &str,
    operation: &Value,
) -> Result<Option<Built>, String> {
    let mut path = template.to_owned();
    let mut owned = None;
    let parameters = path_parameters(template);
    let brand_record = template.starts_with("/api/v1/brands/{brand}/") && parameters.len() > 1;
    for (collection, name) in parameters {
        // The caller's own records (`/me/…`) are named apart from a brand's records of the same kind.
        let collection = if template.starts_with("/api/v1/me/") {
            format!("me/{collection}")
        } else {
            collection
        };
        match fixtures.resolve(&collection, &name) {
            Resolution::Owned {
                value,
                owner,
                intruders,
            } => {
                owned = Some((owner, intruders));
                path = path.replace(&format!("{{{name}}}"), &value);
            }
            Resolution::Public => {}
            // The secret in the path is the key: there is no account to be an intruder to.
            Resolution::Capability => return Ok(None),
            Resolution::Unknown => {
                return Err(format!(
                    "{method} {template}: the sweep cannot name a `{name}` after `/{collection}/`; add the kind to \
                     `Fixtures::resolve` in tests/api/contract/fixtures.rs (`customers`, `brand_scoped`, `store_scoped` or `Public`)"
                ));
            }
        }
    }
    let Some((owner, intruders)) = owned else {
        return Ok(None);
    };
    // Admins reach every brand's records, and they alone reach the admin routes.
    let owner = if template.starts_with("/api/v1/admin/") {
        Actor::Admin
    } else {
        owner
    };
    // The clienteling API is the advisors': a brand's own clienteling lists are the Paris advisor's to read.
    let owner = if template.contains("/clienteling/") && owner == Actor::MaisonMarketer {
        Actor::ParisAdvisor
    } else {
        owner
    };
    let body = match operation.get("requestBody") {
        Some(_) => Some(fixtures.body(method, template).ok_or_else(|| {
            format!("{method} {template}: add a valid body for it to `body_for` in tests/api/contract/fixtures.rs")
        })?),
        None => None,
    };
    let mut idempotency_key = false;
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "header" {
            continue;
        }
        match parameter["name"].as_str() {
            Some(name) if name.eq_ignore_ascii_case("Idempotency-Key") => idempotency_key = true,
            Some(name) if parameter["required"] == true => {
                return Err(format!(
                    "{method} {template}: the sweep does not know the required header `{name}`; teach \
                     tests/api/contract/ownership.rs to send it"
                ));
            }
            _ => {}
        }
    }
    Ok(Some(Built {
        path,
        owner,
        intruders,
        body,
        idempotency_key,
        brand_record,
    }))
}

/// Who tries `built`, and at which path. Another brand's staff are stopped at the brand in the path before
/// any record is looked up, so they also try the record under their own brand (`/brands/atelier/…` with
/// maison's id): only the queries' own brand filter stands between them and it there.
fn attempts(built: &Built) -> Vec<(Actor, String)> {
    let mut attempts = Vec::new();
    for intruder in built.intruders {
        attempts.push((*intruder, built.path.clone()));
        let other_brand = matches!(intruder, Actor::AtelierMarketer | Actor::AtelierAdvisor);
        if other_brand && built.brand_record {
            attempts.push((
                *intruder,
                built.path.replacen(MAISON_SCOPED, ATELIER_SCOPED, 1),
            ));
        }
    }
    attempts
}

const MAISON_SCOPED: &str = "/api/v1/brands/maison/";
const ATELIER_SCOPED: &str = "/api/v1/brands/atelier/";

async fn send(
    app: &crate::helpers::TestApp,
    token: &str,
    method: &str,
    built: &Built,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app
        .client
        .request(method, app.url(&built.path))
        .bearer_auth(token);
    if built.idempotency_key {
        request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    }
    if let Some(body) = &built.body {
        request = request.json(body);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn no_intruder_reaches_a_resource_of_another_account_through_any_path_with_an_id() {
    let app = spawn_sandboxed_app().await;
    let fixtures = Fixtures::build(&app).await;
    let mut unbuildable = Vec::new();
    let mut findings = Vec::new();
    let mut swept = Vec::new();
    let mut later = Vec::new();

    for (template, method, operation) in operations() {
        let built = match build(&fixtures, &template, &method, &operation) {
            Ok(Some(built)) => built,
            Ok(None) => continue,
            Err(reason) => {
                unbuildable.push(reason);
                continue;
            }
        };
        for (intruder, path) in attempts(&built) {
            let attempt = Built {
                path: path.clone(),
                ..built.clone()
            };
            let response = send(&app, fixtures.token(intruder), &method, &attempt).await;
            let status = response.status().as_u16();
            let allowed = status == 404 || (status == 403 && documents_status(&operation, 403));
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if !allowed || content_type != "application/problem+json" {
                let body = response.text().await.unwrap_or_default();
                findings.push(format!(
                    "{} got {status} ({content_type}) for {method} {template} ({path}): {body:.300}",
                    intruder.describe(),
                ));
            }
        }
        if method == "GET" {
            let own = send(&app, fixtures.token(built.owner), &method, &built).await;
            if !own.status().is_success() {
                findings.push(format!(
                    "{}'s own GET {} is {}: the fixture for {template} names no record of theirs",
                    built.owner.describe(),
                    built.path,
                    own.status()
                ));
            }
        }
        if method != "GET" && built.brand_record {
            later.push((template.clone(), method.clone(), built));
        }
        swept.push(format!("{method} {template}"));
    }
    // A brand record's writes have no GET to prove the fixture names a real record (an identifier, a consent
    // slot, a merge): once every intruder has tried, the owner's own write must find it, or the intruders'
    // 404s proved nothing. Deletes last, so the record is still there for the other writes.
    later.sort_by_key(|(_, method, _)| method == "DELETE");
    for (template, method, built) in later {
        let own = send(&app, fixtures.token(built.owner), &method, &built).await;
        if own.status() == 404 {
            let body = own.text().await.unwrap_or_default();
            findings.push(format!(
                "{}'s own {method} {} is 404: the fixture for {template} names no record of theirs: {body:.300}",
                built.owner.describe(),
                built.path,
            ));
        }
    }

    assert!(
        unbuildable.is_empty(),
        "paths the sweep cannot build a request for:\n{}",
        unbuildable.join("\n")
    );
    assert!(
        findings.is_empty(),
        "ownership sweep findings:\n{}",
        findings.join("\n")
    );
    // The portal alone has 14 operations on paths with an id it owns; fewer means the sweep lost some.
    assert!(
        swept.len() >= 14,
        "only {} operations swept: {swept:?}",
        swept.len()
    );
}
