//! Start-up refusals that keep development settings out of reach of the network: production never runs on
//! a secret committed to this repository, and the development and test settings (which carry those secrets
//! and the sandbox's credentials) never listen beyond loopback.

use std::net::IpAddr;

use aws_lc_rs::digest;
use secrecy::{ExposeSecret, SecretString};

use super::{Environment, Settings};

/// SHA-256 of every secret committed in `config/{default,development,test}.toml`, whitespace removed. Only
/// digests: the release binary must not carry the development secrets themselves.
/// `tests/api/config.rs` fails when a committed secret is missing here.
const COMMITTED_SECRET_DIGESTS: &[&str] = &[
    // auth.refresh_token_key
    "e47a70b3a604d4287aaf404662b8ee99592f9c1cb4851a1d9ec0d8427857556c",
    // auth.signing_keys `dev-2026-11`
    "c4fd83a23a772b01d92d400f3787fa3430583e45530736bf086f98d0fb12ffae",
    // billing.cursor_key
    "1d3d6a25296523c12c8e4cdb760700a705f02016da7fdc06f0c323eff7d731fe",
    // providers.salesforce.client_secret
    "eecd853fdf8365ff8842f675843b07ef2575377c2093af6887ace27142c854d5",
    // providers.whmcs.secret
    "9e2b0dbe37a67949ac5b4c47f11ba824e9dad075eb1e9074635a419f0ceebb52",
    // providers.freebit.oem_key
    "db6c377d738d31b5b1262734f36978d75a6214fc460e816fbca19126def53cba",
    // providers.messaging.api_key
    "889a88089905dd3ec03dd155a7f10b08b3a6984f2030d2cfb56f4a828e2d945f",
    // providers.x.client_secret
    "792503b42084f2b62bd7aae3a1dc938064f2fd974e5377f53873b2881d0400b1",
    // providers.messaging.webhook_secret
    "79b2af09dfe854b2fed5a4388121abfe3883d3cd59edf115c1727bba0523ef7a",
    // privacy.download_key
    "48178a56f9d8021f78957e85b0f218562d79f563a2dc5c43774e1e67ab293e8b",
    // crm.identity.suppression_key
    "bad411cf2c3b3db28fc7ab57bd225e99c5bf7d921abf415497a039aae6699aad",
    // brand_events.rsvp_key
    "4787dccdd854967635f5a004ed16787d68282a15fb949a541254e77451c9ff3b",
    // social.token_key
    "5b1a165d120292782c7316624b5c5f73dd91b595a1204ba9a4fa741a8bf18525",
];

/// Whether `secret` is one of the secrets committed to this repository.
pub fn is_committed_secret(secret: &str) -> bool {
    let normalised: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let digest = digest::digest(&digest::SHA256, normalised.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    COMMITTED_SECRET_DIGESTS.contains(&hex.as_str())
}

/// Every secret the settings hold, named by its configuration key.
pub fn secrets(settings: &Settings) -> Vec<(String, &SecretString)> {
    let mut secrets = vec![
        (
            "auth.refresh_token_key".to_owned(),
            &settings.auth.refresh_token_key,
        ),
        (
            "billing.cursor_key".to_owned(),
            &settings.billing.cursor_key,
        ),
        (
            "brand_events.rsvp_key".to_owned(),
            &settings.brand_events.rsvp_key,
        ),
        (
            "providers.whmcs.secret".to_owned(),
            &settings.providers.whmcs.secret,
        ),
        (
            "providers.freebit.oem_key".to_owned(),
            &settings.providers.freebit.oem_key,
        ),
        (
            "providers.messaging.api_key".to_owned(),
            &settings.providers.messaging.api_key,
        ),
        (
            "providers.messaging.webhook_secret".to_owned(),
            &settings.providers.messaging.webhook_secret,
        ),
        (
            "providers.x.client_secret".to_owned(),
            &settings.providers.x.client_secret,
        ),
        ("social.token_key".to_owned(), &settings.social.token_key),
        (
            "privacy.download_key".to_owned(),
            &settings.privacy.download_key,
        ),
        (
            "crm.identity.suppression_key".to_owned(),
            &settings.crm.identity.suppression_key,
        ),
    ];
    for key in &settings.auth.signing_keys {
        secrets.push((
            format!("auth.signing_keys `{}`", key.kid),
            &key.private_key_pem,
        ));
    }
    let optional = [
        (
            "providers.salesforce.client_secret",
            &settings.providers.salesforce.client_secret,
        ),
        (
            "providers.salesforce.private_key_pem",
            &settings.providers.salesforce.private_key_pem,
        ),
        (
            "providers.whmcs.access_key",
            &settings.providers.whmcs.access_key,
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            secrets.push((name.to_owned(), value));
        }
    }
    secrets
}

/// `Err(why)` when these settings must not start.
pub fn check(settings: &Settings) -> Result<(), String> {
    match settings.environment {
        Environment::Production => {
            for (name, secret) in secrets(settings) {
                if is_committed_secret(secret.expose_secret()) {
                    return Err(format!(
                        "`{name}` is a development secret committed to the repository: production takes \
                         its own from the secret store (CONCIERGE__…)"
                    ));
                }
            }
            Ok(())
        }
        Environment::Development | Environment::Test => {
            if is_loopback(&settings.server.host) {
                Ok(())
            } else {
                Err(format!(
                    "`server.host` = `{}` with {} settings: their committed keys and sandbox credentials \
                     must not be reachable from the network; listen on loopback, or run with \
                     CONCIERGE_ENV=production and your own secrets",
                    settings.server.host,
                    settings.environment.as_str()
                ))
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for host in [
            "127.0.0.1",
            "127.0.0.53",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "0.0.0.0",
            "::",
            "10.0.0.5",
            "192.168.1.2",
            "example.com",
            "",
            "localhost.evil",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn committed_secrets_are_recognised_whatever_their_whitespace() {
        assert!(is_committed_secret("sandbox-whmcs-secret"));
        assert!(is_committed_secret(" sandbox-whmcs-secret\n"));
        assert!(!is_committed_secret("sandbox-whmcs-secret-2"));
        assert!(!is_committed_secret(""));
    }
}
