use concierge::config::{Environment, Settings};
use secrecy::ExposeSecret;

use crate::helpers::config_dir;

fn load(environment: Environment, overrides: &[(&str, &str)]) -> Result<Settings, String> {
    let mut figment = Settings::figment(&config_dir(), environment).map_err(|e| e.to_string())?;
    for (key, value) in overrides {
        figment = figment.merge((*key, *value));
    }
    Settings::extract(figment).map_err(|e| e.to_string())
}

#[test]
fn every_committed_environment_loads() {
    load(Environment::Development, &[]).unwrap();
    load(Environment::Test, &[]).unwrap();
    let production = Settings::figment(&config_dir(), Environment::Production)
        .unwrap()
        .merge(("database.url", "postgres://app@db/concierge"))
        .merge(("redis.url", "redis://cache:6379"))
        .merge(
            <figment::providers::Toml as figment::providers::Format>::string(PRODUCTION_SECRETS),
        );
    Settings::extract(production).unwrap();
}

/// What a deployment's secret store provides through the environment.
const PRODUCTION_SECRETS: &str = r#"
[auth]
refresh_token_key = "puoDWli9PyeypqkZSni4yS47HtFny72dTGQlq4Haz6w="
[[auth.signing_keys]]
kid = "prod-1"
private_key_pem = """
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGQkyak2mX9LxMX4EMRLonTx+Q2/ExhQ4zTeuQcmMQmX
-----END PRIVATE KEY-----
"""
[billing]
cursor_key = "k0i3vgB6CG541G2LIZSR3ufWDrKuIItuTkZV5OxapTY="
"#;

#[test]
fn production_refuses_to_start_without_secrets_from_the_environment() {
    let error = load(Environment::Production, &[]).unwrap_err();
    assert!(error.contains("database.url"), "{error}");
}

#[test]
fn a_short_billing_cursor_key_is_refused() {
    let error = load(Environment::Test, &[("billing.cursor_key", "too-short")]).unwrap_err();
    assert!(error.contains("billing.cursor_key"), "{error}");
}

#[test]
fn an_unknown_key_is_rejected_and_named() {
    let error = load(Environment::Test, &[("server.prot", "8080")]).unwrap_err();
    assert!(error.contains("server.prot"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
}

#[test]
fn an_invalid_value_is_rejected_and_named() {
    let error = load(Environment::Test, &[("server.port", "eighty")]).unwrap_err();
    assert!(error.contains("server.port"), "{error}");

    let error = load(
        Environment::Test,
        &[("jobs.cron.housekeeping", "every tuesday")],
    )
    .unwrap_err();
    assert!(error.contains("jobs.cron.housekeeping"), "{error}");

    let error = load(Environment::Test, &[("telemetry.format", "xml")]).unwrap_err();
    assert!(error.contains("telemetry.format"), "{error}");
}

#[test]
fn wildcard_cors_origins_are_refused() {
    let figment = Settings::figment(&config_dir(), Environment::Test)
        .unwrap()
        .merge(("server.cors_allowed_origins", vec!["*"]));
    let error = Settings::extract(figment).unwrap_err().to_string();
    assert!(error.contains("server.cors_allowed_origins"), "{error}");
}

#[test]
fn secrets_are_masked_in_debug_output() {
    let settings = load(
        Environment::Test,
        &[("database.url", "postgres://app:s3cr3t-pw@db/concierge")],
    )
    .unwrap();
    assert_eq!(
        settings.database.url.expose_secret(),
        "postgres://app:s3cr3t-pw@db/concierge"
    );
    let debug = format!("{settings:?}");
    assert!(!debug.contains("s3cr3t-pw"), "{debug}");
}

#[test]
fn a_missing_config_folder_is_reported() {
    let error =
        Settings::figment(std::path::Path::new("/nonexistent"), Environment::Test).unwrap_err();
    assert!(error.to_string().contains("default.toml"));
}
