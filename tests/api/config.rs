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
    load(
        Environment::Production,
        &[
            ("database.url", "postgres://app@db/concierge"),
            ("redis.url", "redis://cache:6379"),
        ],
    )
    .unwrap();
}

#[test]
fn production_refuses_to_start_without_secrets_from_the_environment() {
    let error = load(Environment::Production, &[]).unwrap_err();
    assert!(error.contains("database.url"), "{error}");
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
