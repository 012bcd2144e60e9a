//! For every path with an id: the victim's resource, requested with every documented method by every
//! intruder, answers 404 (or 403 where the operation documents it), never 2xx. The victim's own GET of the
//! same path succeeds, so the sweep is known to name real records. A path whose id the sweep cannot name, or
//! an operation whose body or header it cannot build, fails the test: add the fixture, never a skip.

use reqwest::Method;
use serde_json::Value;

use super::fixtures::{Fixtures, Resolution, body_for};
use super::{documents_status, operations, path_parameters};
use crate::helpers::spawn_sandboxed_app;

/// A request the sweep can send, or why it cannot build one.
struct Built {
    path: String,
    body: Option<Value>,
    idempotency_key: bool,
}

fn build(
    fixtures: &Fixtures,
    template: &str,
    method: &str,
    operation: &Value,
) -> Result<Option<Built>, String> {
    let mut path = template.to_owned();
    let mut owned = false;
    for (collection, name) in path_parameters(template) {
        match fixtures.resolve(&collection, &name) {
            Resolution::Owned(value) => {
                owned = true;
                path = path.replace(&format!("{{{name}}}"), &value);
            }
            Resolution::Public => {}
            Resolution::Unknown => {
                return Err(format!(
                    "{method} {template}: the sweep cannot name a `{name}` after `/{collection}/`; add the kind to \
                     `Fixtures::resolve` in tests/api/contract/fixtures.rs (a record the victim owns, or `Public`)"
                ));
            }
        }
    }
    if !owned {
        return Ok(None);
    }
    let body = match operation.get("requestBody") {
        Some(_) => Some(body_for(method, template).ok_or_else(|| {
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
        body,
        idempotency_key,
    }))
}

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

    for (template, method, operation) in operations() {
        let built = match build(&fixtures, &template, &method, &operation) {
            Ok(Some(built)) => built,
            Ok(None) => continue,
            Err(reason) => {
                unbuildable.push(reason);
                continue;
            }
        };
        for intruder in &fixtures.intruders {
            let response = send(&app, &intruder.token, &method, &built).await;
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
                    "{} got {status} ({content_type}) for {method} {template} ({}): {body:.300}",
                    intruder.who, built.path
                ));
            }
        }
        if method == "GET" {
            let own = send(&app, &fixtures.victim, &method, &built).await;
            if !own.status().is_success() {
                findings.push(format!(
                    "the victim's own GET {} is {}: the fixture for {template} names no record of theirs",
                    built.path,
                    own.status()
                ));
            }
        }
        swept.push(format!("{method} {template}"));
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
