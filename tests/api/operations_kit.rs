//! The operations kit (`docker/observability/`) names only metrics the app exports: an app is exercised
//! (requests, provider calls, a circuit that opens, jobs, an outbox delivery, a cache that loses Redis, a
//! locked sign-in, a handler panic), its
//! metrics listener is scraped, and every metric named by a dashboard panel, a dashboard variable or an
//! alert rule must be among the scraped series. A renamed or never-exported metric fails here, not on the
//! night the alert should have fired.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use concierge::cache::Cache;
use concierge::integrations::{ProviderClient, classify_by_status};
use concierge::outbox::{self, NewEvent};
use serde_json::{Value, json};

use crate::helpers::{
    DEAD_REDIS_URL, Sandboxed, TestApp, TestOptions, demo_customer, get_as, spawn_app,
    spawn_app_with, spawn_sandboxed_app_with, test_settings, token_of,
};

/// Series Prometheus records itself for every scrape target, which no app exports.
const PROMETHEUS_SERIES: &[&str] = &["up"];

fn observability_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/observability")
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = observability_dir().join("grafana/dashboards");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let dashboard = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            found.push((path.display().to_string(), dashboard));
        }
    }
    assert!(!found.is_empty(), "no dashboard in {}", dir.display());
    found
}

fn rules_text() -> String {
    std::fs::read_to_string(observability_dir().join("alerts.yml")).unwrap()
}

// --- What the kit names -------------------------------------------------------------------------------

/// Every PromQL expression of a dashboard: each panel target's `expr` (panels nested in rows too), and the
/// queries of its variables (`label_values(selector, label)`, `query_result(expr)`).
fn dashboard_expressions(dashboard: &Value) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, value) in object {
                    match (key.as_str(), value) {
                        ("expr", Value::String(expr)) => found.push(expr.clone()),
                        ("templating", _) => {}
                        _ => walk(value, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(dashboard, &mut found);
    let variables = dashboard["templating"]["list"].as_array().cloned();
    for variable in variables.unwrap_or_default() {
        if variable["type"] != "query" {
            continue;
        }
        let query = match &variable["query"] {
            Value::String(query) => query.clone(),
            Value::Object(query) => query["query"].as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let query = query.trim();
        if let Some(inner) = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
        {
            // The selector is everything before the last comma (the label name follows it).
            let selector = inner
                .rsplit_once(',')
                .map_or(inner, |(selector, _)| selector);
            found.push(selector.to_owned());
        } else if let Some(inner) = query
            .strip_prefix("query_result(")
            .and_then(|q| q.strip_suffix(')'))
        {
            found.push(inner.to_owned());
        } else {
            panic!(
                "dashboard variable {}: unsupported query {query:?}",
                variable["name"]
            );
        }
    }
    found
}

/// Every `expr` of a rule file. Reads the YAML forms a rule file uses for it (`expr: <inline>`, quoted or
/// not, and block scalars `|`, `|-`, `>`, `>-`, or a plain scalar continued on more-indented lines); promtool
/// checks that the file is valid YAML. An `expr` this reader cannot place fails the test rather than being
/// skipped.
fn rule_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        index += 1;
        let trimmed = line.trim_start();
        let Some(rest) = trimmed
            .strip_prefix("- expr:")
            .or_else(|| trimmed.strip_prefix("expr:"))
        else {
            assert!(
                !trimmed.contains("expr:") || trimmed.starts_with('#'),
                "unsupported form of expr: {line:?}"
            );
            continue;
        };
        let indent = line.len() - trimmed.len();
        let rest = rest.trim();
        let mut expr = match rest {
            "|" | "|-" | "|+" | ">" | ">-" | ">+" => String::new(),
            _ if rest.len() >= 2 && rest.starts_with('"') && rest.ends_with('"') => rest
                [1..rest.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\\\", "\\"),
            _ if rest.len() >= 2 && rest.starts_with('\'') && rest.ends_with('\'') => {
                rest[1..rest.len() - 1].replace("''", "'")
            }
            _ => {
                assert!(
                    !rest.starts_with(['"', '\'', '|', '>', '&', '*', '!']),
                    "unsupported form of expr: {line:?}"
                );
                rest.to_owned()
            }
        };
        // Block scalar content, or a plain scalar's continuation: the lines indented deeper than the key.
        while index < lines.len() {
            let next = lines[index];
            let next_trimmed = next.trim_start();
            if !next_trimmed.is_empty() && next.len() - next_trimmed.len() <= indent {
                break;
            }
            expr.push('\n');
            expr.push_str(next_trimmed);
            index += 1;
        }
        assert!(!expr.trim().is_empty(), "empty expr after {line:?}");
        found.push(expr);
    }
    found
}

/// The metric names a PromQL expression selects: its identifiers, leaving out label matchers (`{…}`),
/// ranges and subqueries (`[…]`), strings, numbers and durations, Grafana variables (`$route`,
/// `$__rate_interval`), functions and aggregations (an identifier followed by `(`, or by `by`/`without`), the
/// label lists of `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`, and the binary-operator keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_until = |from: usize, close: char| -> usize {
        let mut j = from;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let c = chars[j];
            match quote {
                Some(q) if c == '\\' && q != '`' => j += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == close => return j + 1,
                None => {}
            }
            j += 1;
        }
        panic!("unbalanced {close:?} in {expr:?}");
    };
    let skip_string = |from: usize, quote: char| -> usize {
        let mut j = from;
        while j < chars.len() {
            if chars[j] == '\\' && quote != '`' {
                j += 1;
            } else if chars[j] == quote {
                return j + 1;
            }
            j += 1;
        }
        panic!("unterminated string in {expr:?}");
    };
    let next_word = |from: usize| -> (usize, String) {
        let mut j = from;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let start = j;
        while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        (start, chars[start..j].iter().collect())
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(i + 1, c);
        } else if c == '{' {
            i = skip_until(i + 1, '}');
        } else if c == '[' {
            i = skip_until(i + 1, ']');
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                i = skip_until(i + 1, '}');
            }
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let (next, following) = next_word(i);
            // A call, or an aggregation with its modifier first (`sum by (route) (…)`).
            let call = chars.get(next) == Some(&'(')
                || (!LABEL_LISTS.contains(&word.as_str())
                    && (following == "by" || following == "without"));
            if LABEL_LISTS.contains(&word.as_str()) {
                if call {
                    i = skip_until(next + 1, ')');
                }
            } else if !call && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// `(where, metric)` for every metric the kit names that `exported` lacks.
fn unexported(
    dashboards: &[(String, Value)],
    rules: &str,
    exported: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut named: Vec<(String, String)> = Vec::new();
    for (path, dashboard) in dashboards {
        for expr in dashboard_expressions(dashboard) {
            for name in metric_names(&expr) {
                named.push((path.clone(), name));
            }
        }
    }
    let rule_exprs = rule_expressions(rules);
    assert!(!rule_exprs.is_empty(), "no expr in alerts.yml");
    for expr in rule_exprs {
        for name in metric_names(&expr) {
            named.push(("alerts.yml".to_owned(), name));
        }
    }
    assert!(!named.is_empty(), "the kit names no metric at all");
    named.sort();
    named.dedup();
    named
        .into_iter()
        .filter(|(_, name)| !exported.contains(name) && !PROMETHEUS_SERIES.contains(&name.as_str()))
        .collect()
}

/// The metric names of a Prometheus text exposition: each sample's name (a histogram shows as its
/// `_bucket`, `_sum` and `_count` series) and each `# TYPE` line's.
fn exported_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(typed) = line.strip_prefix("# TYPE ") {
            if let Some(name) = typed.split_whitespace().next() {
                names.insert(name.to_owned());
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

// --- The app, exercised -------------------------------------------------------------------------------

async fn exercised_app() -> TestApp {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs().configure(|settings| {
        settings.server.metrics_listen = "127.0.0.1:0".into();
        settings.server.metrics_refresh_ms = 200;
        settings.auth.login_failures_per_account = 2;
        settings.auth.lockout_base_secs = 60;
    }))
    .await;

    // Register (a verification e-mail job and the messaging provider), sign in, read through WHMCS and the
    // catalog (provider calls, the cache, the catalog snapshot).
    let token = token_of(&demo_customer(&app).await);
    for path in [
        "/api/v1/me",
        "/api/v1/billing/invoices",
        "/api/v1/billing/invoices",
        "/api/v1/subscriptions",
        "/api/v1/catalog/products",
        "/api/v1/catalog/products",
    ] {
        assert_eq!(get_as(&app, &token, path).await.status(), 200, "GET {path}");
    }

    // Wrong passwords until sign-in is refused before any password work.
    let email = concierge_sandbox::demo::CUSTOMERS[0].email;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": "not-the-passphrase-at-all" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);

    // A handler that panics (in an app of its own: the registry is the process's).
    let panicking = spawn_app_with(TestOptions {
        routes: Box::new(|cfg| {
            cfg.route("/probe/operations-kit/panic", web::get().to(panics));
        }),
        ..Default::default()
    })
    .await;
    assert_eq!(
        panicking.get("/probe/operations-kit/panic").await.status(),
        500
    );

    // A provider that does not answer: the first failure opens the circuit, the second call is refused.
    let mut providers = test_settings("unused").providers;
    providers.max_retries = 0;
    providers.breaker_failure_threshold = 1;
    providers.breaker_cooldown_ms = 60_000;
    let down = ProviderClient::new("test.operations_kit", &providers).unwrap();
    for _ in 0..2 {
        let result = down
            .execute(
                "probe",
                |http| http.get("http://127.0.0.1:9/nothing"),
                |response| classify_by_status("test.operations_kit", response),
            )
            .await;
        assert!(result.is_err());
    }

    // A cache whose Redis is gone: the look-up is a bypass, the failure counted.
    let mut redis = test_settings("unused").redis;
    redis.url = DEAD_REDIS_URL.to_owned().into();
    redis.timeout_ms = 200;
    let dead = Cache::new(&redis).unwrap();
    assert_eq!(dead.get::<String>("operations-kit").await, None);

    // An outbox event for the runner's dispatcher to deliver.
    let mut tx = app.db.begin().await.unwrap();
    outbox::record(
        &mut tx,
        NewEvent {
            topic: "test.operations_kit",
            aggregate_type: "probe",
            aggregate_id: uuid::Uuid::new_v4().to_string(),
            payload: json!({}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app
}

async fn panics() -> HttpResponse {
    panic!("the operations kit's probe panics on purpose")
}

async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_ref().expect("a metrics listener");
    let response = app
        .client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_metric_the_dashboards_and_alert_rules_name_is_exported() {
    let app = exercised_app().await;
    let dashboards = dashboards();
    let rules = rules_text();

    // Jobs, the outbox delivery and the gauge refresh happen in the background: give them a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (exported, missing) = loop {
        let exported = exported_names(&scrape(&app).await);
        let missing = unexported(&dashboards, &rules, &exported);
        if missing.is_empty() || tokio::time::Instant::now() >= deadline {
            break (exported, missing);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        missing.is_empty(),
        "named in docker/observability but not exported by the app: {missing:?}\nexported: {exported:?}"
    );

    // The same check catches a panel or a rule naming a metric that does not exist.
    let mut doctored = dashboards.clone();
    doctored[0].1["panels"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "timeseries", "targets": [
            { "expr": "sum by (route) (rate(http_requests_totl{status=~\"5..\"}[$__rate_interval]))" }
        ]}));
    let missing = unexported(&doctored, &rules, &exported);
    assert_eq!(
        missing
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>(),
        ["http_requests_totl"]
    );
    let rules = format!(
        "{rules}\n  - name: doctored\n    rules:\n      - alert: Nope\n        expr: |\n          max(outbox_lag_seconds) > 300\n"
    );
    let missing = unexported(&dashboards, &rules, &exported);
    assert_eq!(
        missing
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>(),
        ["outbox_lag_seconds"]
    );
}

/// `outbox_oldest_pending_age_seconds` is the age of the oldest event still waiting: delivered and dead
/// events do not count, and an empty outbox has no lag.
#[tokio::test]
async fn the_outbox_lag_is_the_age_of_its_oldest_pending_event() {
    let app = spawn_app().await;
    assert_eq!(
        outbox::backlog(&app.db).await.unwrap(),
        outbox::Backlog {
            pending: 0,
            oldest_age_seconds: 0.0
        }
    );

    let mut ids = Vec::new();
    for _ in 0..4 {
        let mut tx = app.db.begin().await.unwrap();
        let id = outbox::record(
            &mut tx,
            NewEvent {
                topic: "test.operations_kit",
                aggregate_type: "probe",
                aggregate_id: uuid::Uuid::new_v4().to_string(),
                payload: json!({}),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        ids.push(id);
    }
    // Recorded 20 and 10 minutes ago (pending), an hour ago (delivered) and two hours ago (dead).
    for (id, minutes, status) in [
        (ids[0], 20, "pending"),
        (ids[1], 10, "pending"),
        (ids[2], 60, "delivered"),
        (ids[3], 120, "dead"),
    ] {
        sqlx::query(
            "UPDATE outbox_events SET created_at = now() - make_interval(mins => $2), status = $3, \
             delivered_at = CASE WHEN $3 = 'delivered' THEN now() END WHERE id = $1",
        )
        .bind(id)
        .bind(minutes)
        .bind(status)
        .execute(&app.db)
        .await
        .unwrap();
    }

    let backlog = outbox::backlog(&app.db).await.unwrap();

    assert_eq!(backlog.pending, 2);
    assert!(
        (1199.0..1260.0).contains(&backlog.oldest_age_seconds),
        "{backlog:?}"
    );
}

#[test]
fn promql_names_are_told_from_labels_functions_and_variables() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{instance=~"$instance",route!="unmatched"}[$__rate_interval])))
           / on (instance) group_left(version) max without (state) (db_pool_connections{state="max"} offset 5m)
           and sum(increase(jobs_total{outcome="dead"}[15m])) > 3 or vector(0) unless absent(redis_up)
           + count(label_replace(up, "a", "$1", "b", "(.*)")) * 1e3"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "db_pool_connections",
            "http_request_duration_seconds_bucket",
            "jobs_total",
            "redis_up",
            "up"
        ]
    );
}

#[test]
fn rule_expressions_are_read_in_every_yaml_form_a_rule_file_uses() {
    let yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          sum(a_total)\n            / sum(b_total)\n        for: 5m\n      - alert: B\n        expr: max(c) > 1\n      - alert: C\n        expr: \"d{x=\\\"y\\\"} > 0\"\n      - alert: D\n        expr: >-\n          e\n          > 0\n        labels:\n          severity: page\n";

    let exprs = rule_expressions(yaml);

    assert_eq!(exprs.len(), 4, "{exprs:?}");
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a_total", "b_total", "c", "d", "e"]
    );
}

/// Every alert has its section in docs/operations.md (what it means, what to do), and its `runbook_url`
/// points there.
#[test]
fn every_alert_has_a_runbook_section() {
    let rules = rules_text();
    let runbook =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md"))
            .unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert!(!alerts.is_empty());
    for alert in alerts {
        assert!(
            runbook.lines().any(|line| line == format!("### {alert}")),
            "docs/operations.md has no section for {alert}"
        );
        let url = format!("runbook_url: docs/operations.md#{}", alert.to_lowercase());
        assert!(rules.contains(&url), "{alert}: no {url}");
    }
}

/// HTTP lets a client invent methods (`PROBE17 /api/v1/me`): each must not become a series of its own in
/// `http_requests_total` and the latency histogram, or an anonymous caller grows the registry (and every
/// scrape) without bound. Unknown methods are counted as `_OTHER`, as OpenTelemetry's conventions name them.
#[tokio::test]
async fn invented_http_methods_do_not_grow_the_metrics_without_bound() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.server.metrics_listen = "127.0.0.1:0".into();
    }))
    .await;
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}X").as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/api/v1/me"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }
    let exposition = scrape(&app).await;
    assert!(
        !exposition.contains("method=\"PROBE"),
        "every invented method is a series: {}",
        exposition
            .lines()
            .filter(|line| line.contains("PROBE"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        exposition.contains("method=\"_OTHER\""),
        "{exposition:.2000}"
    );
}
