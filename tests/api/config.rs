use concierge::config::{Environment, Settings};
use secrecy::{ExposeSecret, SecretString};

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
fn the_metrics_listener_is_on_loopback_by_default_and_must_be_an_address() {
    let development = load(Environment::Development, &[]).unwrap();
    let address: std::net::SocketAddr = development
        .server
        .metrics_address()
        .expect("a metrics listener outside tests")
        .parse()
        .unwrap();
    assert!(address.ip().is_loopback(), "{address}");
    assert_ne!(
        address.port(),
        development.server.port,
        "apart from the API"
    );
    assert_eq!(
        load(Environment::Test, &[])
            .unwrap()
            .server
            .metrics_address(),
        None
    );

    for bad in ["localhost", "0.0.0.0", "metrics:9464"] {
        let error = load(Environment::Test, &[("server.metrics_listen", bad)]).unwrap_err();
        assert!(error.contains("server.metrics_listen"), "{bad}: {error}");
    }
    let error = load(Environment::Test, &[("server.metrics_refresh_ms", "0")]).unwrap_err();
    assert!(error.contains("server.metrics_refresh_ms"), "{error}");
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

/// `scripts/run` starts the sandbox and the product from the same folder: the credentials the product presents
/// in development and tests must be the ones the sandbox accepts.
#[test]
fn the_sandbox_accepts_the_credentials_the_clients_present() {
    fn secret(value: &SecretString) -> &str {
        value.expose_secret()
    }
    for (environment, name) in [
        (Environment::Development, "development"),
        (Environment::Test, "test"),
    ] {
        let product = load(environment, &[]).unwrap().providers;
        let sandbox = concierge_sandbox::Config::from_files(&config_dir(), name).unwrap();
        assert_eq!(product.salesforce.client_id, sandbox.salesforce.client_id);
        assert_eq!(
            product.salesforce.client_secret.as_ref().map(secret),
            sandbox.salesforce.client_secret.as_ref().map(secret)
        );
        assert_eq!(
            product.salesforce.api_version,
            sandbox.salesforce.api_version
        );
        assert_eq!(product.salesforce.audience, sandbox.salesforce.audience);
        assert_eq!(product.whmcs.identifier, sandbox.whmcs.identifier);
        assert_eq!(secret(&product.whmcs.secret), secret(&sandbox.whmcs.secret));
        assert_eq!(product.freebit.oem_id, sandbox.freebit.oem_id);
        assert_eq!(
            secret(&product.freebit.oem_key),
            secret(&sandbox.freebit.oem_key)
        );
        assert_eq!(
            secret(&product.messaging.api_key),
            secret(&sandbox.messaging.api_key)
        );
    }
}

#[test]
fn the_sandbox_configuration_rejects_unknown_keys_and_the_product_ignores_its_section() {
    let dir = tempdir_with(
        "[sandbox]\nlisten = \"127.0.0.1:0\"\nquery_page_size = 5\ntoken_ttl_secs = 60\nsurprise = 1\n",
    );
    let error = concierge_sandbox::Config::from_files(&dir, "test").unwrap_err();
    assert!(format!("{error:#}").contains("surprise"), "{error:#}");
    load(
        Environment::Test,
        &[("sandbox.anything", "the product does not read it")],
    )
    .unwrap();
}

fn tempdir_with(default_toml: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "concierge-config-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("default.toml"), default_toml).unwrap();
    dir
}

/// Browsers treat `http://localhost` as a secure context, so no environment needs a refresh cookie without
/// `Secure`: there is no setting to turn it off (issue 10, item 6).
#[test]
fn no_environment_can_send_the_refresh_cookie_without_secure() {
    for environment in [Environment::Development, Environment::Test] {
        let error = load(environment, &[("auth.cookie_secure", "false")]).unwrap_err();
        assert!(error.contains("cookie_secure"), "{error}");
    }
}
