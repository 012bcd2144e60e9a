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
[brand_events]
rsvp_key = "bqJel5IXN2xnDD/2A/SVHbOChmevU+0AmxdxY3m0N2U="
[social]
token_key = "Xq1m7pY2bO0wS9dF4hJ6kL8zC3vB5nM1aQ2wE4rT6yU="
[privacy]
download_key = "rXX0OeSk8eZ7Ra3tyV4m+hhcWQEilXIT2CUaVw6n1JY="
[crm.identity]
suppression_key = "prod-suppression-key-from-the-secret-store"
"#;

#[test]
fn a_short_rsvp_key_is_refused() {
    let error = load(Environment::Test, &[("brand_events.rsvp_key", "too-short")]).unwrap_err();
    assert!(error.contains("brand_events.rsvp_key"), "{error}");
}

#[test]
fn production_refuses_to_start_without_secrets_from_the_environment() {
    let error = load(Environment::Production, &[]).unwrap_err();
    assert!(error.contains("database.url"), "{error}");
}

#[test]
fn a_social_token_key_that_is_not_32_bytes_is_refused() {
    for key in [
        "too-short",
        "bm90LWEtMzItYnl0ZS1rZXk=",
        "not base64 at all !!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        let error = load(Environment::Test, &[("social.token_key", key)]).unwrap_err();
        assert!(error.contains("social.token_key"), "{key}: {error}");
    }
}

#[test]
fn production_refuses_the_committed_social_token_key() {
    let development = load(Environment::Development, &[]).unwrap();
    let committed = development.social.token_key.expose_secret().to_owned();
    let error = production(&[("social.token_key", &committed)]).unwrap_err();
    assert!(error.contains("social.token_key"), "{error}");
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
fn trusted_proxies_are_networks_never_everyone_and_loopback_only_in_development() {
    let with = |proxies: Vec<&str>| {
        let figment = Settings::figment(&config_dir(), Environment::Test)
            .unwrap()
            .merge(("server.trusted_proxies", proxies));
        Settings::extract(figment).map_err(|e| e.to_string())
    };
    for bad in [
        "10.0.0.0/33",
        "portal.internal",
        "0.0.0.0/0",
        "::/0",
        "0.0.0.0/1",
        "128.0.0.0/1",
        "::/7",
    ] {
        let error = with(vec![bad]).unwrap_err();
        assert!(error.contains("server.trusted_proxies"), "{bad}: {error}");
    }
    let settings = with(vec!["10.0.0.0/8", "fd00::/8", "192.0.2.10"]).unwrap();
    assert_eq!(settings.server.trusted_proxies.len(), 3);

    let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let trusts_loopback = |settings: &Settings| {
        settings
            .server
            .trusted_proxies
            .iter()
            .any(|cidr| cidr.contains(loopback))
    };
    assert!(trusts_loopback(
        &load(Environment::Development, &[]).unwrap()
    ));
    assert!(!trusts_loopback(&load(Environment::Test, &[]).unwrap()));
    let production = Settings::figment(&config_dir(), Environment::Production)
        .unwrap()
        .merge(("database.url", "postgres://app@db/concierge"))
        .merge(("redis.url", "redis://cache:6379"))
        .merge(
            <figment::providers::Toml as figment::providers::Format>::string(PRODUCTION_SECRETS),
        );
    assert!(!trusts_loopback(&Settings::extract(production).unwrap()));
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
        assert_eq!(product.x.client_id, sandbox.x.client_id);
        assert_eq!(
            secret(&product.x.client_secret),
            secret(&sandbox.x.client_secret)
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

fn production(overrides: &[(&str, &str)]) -> Result<Settings, String> {
    let mut figment = Settings::figment(&config_dir(), Environment::Production)
        .map_err(|e| e.to_string())?
        .merge(("database.url", "postgres://app@db/concierge"))
        .merge(("redis.url", "redis://cache:6379"))
        .merge(
            <figment::providers::Toml as figment::providers::Format>::string(PRODUCTION_SECRETS),
        );
    for (key, value) in overrides {
        figment = figment.merge((*key, *value));
    }
    Settings::extract(figment).map_err(|e| e.to_string())
}

#[test]
fn production_refuses_every_secret_committed_for_development() {
    let development = load(Environment::Development, &[]).unwrap();
    let committed: Vec<(String, String)> = concierge::config::secrets(&development)
        .into_iter()
        .map(|(name, secret)| (name, secret.expose_secret().to_owned()))
        .collect();
    let single = [
        ("auth.refresh_token_key", "auth.refresh_token_key"),
        ("billing.cursor_key", "billing.cursor_key"),
        ("privacy.download_key", "privacy.download_key"),
        ("brand_events.rsvp_key", "brand_events.rsvp_key"),
        (
            "providers.salesforce.client_secret",
            "providers.salesforce.client_secret",
        ),
        ("providers.whmcs.secret", "providers.whmcs.secret"),
        ("providers.freebit.oem_key", "providers.freebit.oem_key"),
        ("providers.messaging.api_key", "providers.messaging.api_key"),
        (
            "providers.messaging.webhook_secret",
            "providers.messaging.webhook_secret",
        ),
        ("providers.x.client_secret", "providers.x.client_secret"),
    ];
    for (key, name) in single {
        let (_, value) = committed
            .iter()
            .find(|(committed_name, _)| committed_name == name)
            .unwrap_or_else(|| panic!("development has no {name}"));
        let error = production(&[(key, value)]).unwrap_err();
        assert!(error.contains(key), "{key}: {error}");
        // A secret of the deployment's own is accepted.
        production(&[(key, "a-deployment-secret-of-its-own-0123456789abcdef")]).unwrap();
    }

    let development_pem = development.auth.signing_keys[0]
        .private_key_pem
        .expose_secret();
    let with_dev_key = Settings::figment(&config_dir(), Environment::Production)
        .unwrap()
        .merge(("database.url", "postgres://app@db/concierge"))
        .merge(("redis.url", "redis://cache:6379"))
        .merge(
            <figment::providers::Toml as figment::providers::Format>::string(PRODUCTION_SECRETS),
        )
        // Rotated in behind the deployment's own key, it would still verify tokens anyone can forge.
        .merge((
            "auth.signing_keys",
            vec![
                serde_json::json!({"kid": "prod-1", "private_key_pem": PRODUCTION_PEM}),
                serde_json::json!({"kid": "renamed", "private_key_pem": format!("\n{development_pem}  ")}),
            ],
        ));
    let error = Settings::extract(with_dev_key).unwrap_err().to_string();
    assert!(error.contains("auth.signing_keys `renamed`"), "{error}");
}

const PRODUCTION_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGQkyak2mX9LxMX4EMRLonTx+Q2/ExhQ4zTeuQcmMQmX\n-----END PRIVATE KEY-----\n";

/// The production check knows a secret only by its digest; one committed without its digest would pass.
#[test]
fn every_committed_secret_is_known_to_the_production_check() {
    for environment in [Environment::Development, Environment::Test] {
        let settings = load(environment, &[]).unwrap();
        let secrets = concierge::config::secrets(&settings);
        assert!(secrets.len() >= 6, "{}", secrets.len());
        for (name, secret) in secrets {
            assert!(
                concierge::config::is_committed_secret(secret.expose_secret()),
                "{name} of {environment:?} is committed but its digest is not in config/safety.rs"
            );
        }
    }
}

#[test]
fn development_and_test_settings_refuse_to_listen_beyond_loopback() {
    for environment in [Environment::Development, Environment::Test] {
        for host in ["0.0.0.0", "::", "10.1.2.3"] {
            let error = load(environment, &[("server.host", host)]).unwrap_err();
            assert!(
                error.contains("server.host"),
                "{environment:?} {host}: {error}"
            );
        }
        for host in ["127.0.0.1", "::1", "localhost"] {
            load(environment, &[("server.host", host)]).unwrap();
        }
    }
    // Production's own settings listen on every interface.
    assert_eq!(production(&[]).unwrap().server.host, "0.0.0.0");
}

/// `docker compose up` must start the production service with the keys compose gives it, and the sandbox
/// there must accept the credentials the product presents.
#[test]
fn the_compose_production_service_starts_with_the_keys_compose_gives_it() {
    let compose = std::fs::read_to_string(config_dir().join("../docker/compose.yml")).unwrap();
    let concierge = compose_environment(&compose, "concierge");
    assert_eq!(
        concierge.get("CONCIERGE_ENV").map(String::as_str),
        Some("production")
    );
    let mut document = String::new();
    for (name, value) in &concierge {
        let Some(path) = name.strip_prefix("CONCIERGE__") else {
            continue;
        };
        let key = path.to_lowercase().replace("__", ".");
        let value = if value.starts_with('[') || value.starts_with('{') {
            value.clone()
        } else {
            serde_json::to_string(value).unwrap()
        };
        document.push_str(&format!("{key} = {value}\n"));
    }
    let figment = Settings::figment(&config_dir(), Environment::Production)
        .unwrap()
        .merge(<figment::providers::Toml as figment::providers::Format>::string(&document));
    Settings::extract(figment).unwrap_or_else(|error| panic!("{error}\n{document}"));

    let sandbox = compose_environment(&compose, "sandbox");
    for (product, accepted) in [
        (
            "CONCIERGE__PROVIDERS__SALESFORCE__CLIENT_SECRET",
            "CONCIERGE__SANDBOX__SALESFORCE__CLIENT_SECRET",
        ),
        (
            "CONCIERGE__PROVIDERS__WHMCS__SECRET",
            "CONCIERGE__SANDBOX__WHMCS__SECRET",
        ),
        (
            "CONCIERGE__PROVIDERS__FREEBIT__OEM_KEY",
            "CONCIERGE__SANDBOX__FREEBIT__OEM_KEY",
        ),
        (
            "CONCIERGE__PROVIDERS__MESSAGING__API_KEY",
            "CONCIERGE__SANDBOX__MESSAGING__API_KEY",
        ),
        (
            "CONCIERGE__PROVIDERS__X__CLIENT_SECRET",
            "CONCIERGE__SANDBOX__X__CLIENT_SECRET",
        ),
        (
            "CONCIERGE__PROVIDERS__MESSAGING__WEBHOOK_SECRET",
            "CONCIERGE__SANDBOX__MESSAGING__WEBHOOK_SECRET",
        ),
    ] {
        assert_eq!(concierge.get(product), sandbox.get(accepted), "{product}");
        assert!(concierge.contains_key(product), "{product}");
    }
}

/// The `environment:` map of one service in a compose file (plain `KEY: value` lines, as ours are written).
fn compose_environment(compose: &str, service: &str) -> std::collections::BTreeMap<String, String> {
    let mut in_service = false;
    let mut in_environment = false;
    let mut variables = std::collections::BTreeMap::new();
    for line in compose.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 2 {
            in_service = trimmed == format!("{service}:");
            in_environment = false;
        } else if in_service && indent == 4 {
            in_environment = trimmed == "environment:";
        } else if in_service
            && in_environment
            && indent == 6
            && let Some((name, value)) = trimmed.split_once(": ")
        {
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .map_or_else(|| value.to_owned(), |v| v.replace("''", "'"));
            variables.insert(name.to_owned(), value);
        }
    }
    variables
}
