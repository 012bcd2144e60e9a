//! `telemetry.otlp_endpoint`: off (empty) in every committed environment, and only an http(s) base URL
//! without credentials or query when set.

use concierge::config::{Environment, Settings};
use figment::Figment;

use crate::helpers::config_dir;

fn load(environment: Environment, endpoint: &str) -> Result<Settings, String> {
    let figment: Figment = Settings::figment(&config_dir(), environment)
        .map_err(|e| e.to_string())?
        .merge(("database.url", "postgres://localhost/x"))
        .merge(("redis.url", "redis://localhost"))
        .merge(("telemetry.otlp_endpoint", endpoint));
    Settings::extract(figment).map_err(|e| e.to_string())
}

#[test]
fn traces_are_off_unless_an_endpoint_is_configured() {
    for environment in [Environment::Development, Environment::Test] {
        let figment = Settings::figment(&config_dir(), environment)
            .expect("config")
            .merge(("database.url", "postgres://localhost/x"))
            .merge(("redis.url", "redis://localhost"));
        let settings = Settings::extract(figment).expect("settings");
        assert_eq!(
            settings.telemetry.otlp_traces_url(),
            None,
            "{environment:?}"
        );
    }
}

#[test]
fn the_endpoint_is_a_base_url_the_traces_path_is_appended_to() {
    for (endpoint, url) in [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
        (
            "https://otel.example:4318/",
            "https://otel.example:4318/v1/traces",
        ),
        ("  ", ""),
    ] {
        let settings = load(Environment::Test, endpoint).expect(endpoint);
        assert_eq!(
            settings.telemetry.otlp_traces_url().unwrap_or_default(),
            url,
            "{endpoint}"
        );
    }
}

#[test]
fn an_endpoint_that_is_not_an_http_base_url_is_refused_and_named() {
    for bad in [
        "127.0.0.1:4318",
        "grpc://collector:4317",
        "http://",
        "http://user:secret@collector:4318",
        "http://collector:4318?token=secret",
        "not a url",
    ] {
        let error = load(Environment::Test, bad).expect_err(bad);
        assert!(error.contains("telemetry.otlp_endpoint"), "{bad}: {error}");
        assert!(
            !error.contains("secret"),
            "{bad}: the error must not echo it: {error}"
        );
    }
}
