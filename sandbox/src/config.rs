//! The sandbox's own settings: where it listens, how it pages, how long its tokens live, and the credentials
//! it accepts. Read from the `[sandbox]` section of the same layered files the product reads
//! (`config/default.toml` → `config/{CONCIERGE_ENV}.toml`) and from `CONCIERGE__SANDBOX__*` variables, so one
//! folder configures both sides of a local run; the product ignores the section.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

const SECTION: &str = "sandbox";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where `concierge-sandbox` listens.
    pub listen: String,
    /// Records per query page (Salesforce answers at most 2,000; smaller here so paging is exercised).
    pub query_page_size: usize,
    /// Lifetime of Salesforce access tokens and Freebit authKeys, to exercise re-authentication.
    pub token_ttl_secs: u64,
    pub salesforce: SalesforceAccepts,
    pub whmcs: WhmcsAccepts,
    pub freebit: FreebitAccepts,
    pub messaging: MessagingAccepts,
    pub x: XAccepts,
}

/// The connected app the sandbox's org knows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceAccepts {
    /// The one REST API version the org answers on (`/services/data/{api_version}/…`).
    pub api_version: String,
    pub client_id: String,
    /// Client-credentials flow; absent means that flow is refused.
    pub client_secret: Option<SecretString>,
    /// The `aud` a JWT bearer assertion must carry (besides the sandbox's own URL).
    pub audience: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhmcsAccepts {
    pub identifier: String,
    pub secret: SecretString,
    /// When set, every call must also carry this `accesskey` (WHMCS's IP-restriction bypass).
    pub access_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreebitAccepts {
    pub oem_id: String,
    pub oem_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingAccepts {
    pub api_key: SecretString,
    /// Where delivery receipts are posted (empty: only where a control call says).
    pub webhook_url: String,
    /// The HMAC-SHA256 key receipts are signed with.
    pub webhook_secret: SecretString,
}

/// The OAuth 2.0 client X knows (the refresh-token grant authenticates with it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XAccepts {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl Config {
    /// As `concierge-sandbox` starts: `CONCIERGE_CONFIG_DIR` (default `./config`), the environment named by
    /// `CONCIERGE_ENV` (default `development`), then `CONCIERGE__SANDBOX__*` variables.
    pub fn load() -> anyhow::Result<Self> {
        let dir = std::env::var("CONCIERGE_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from("config"));
        let environment =
            std::env::var("CONCIERGE_ENV").unwrap_or_else(|_| "development".to_owned());
        let figment =
            Self::files(&dir, &environment)?.merge(Env::prefixed("CONCIERGE__").split("__"));
        Self::extract(&figment)
    }

    /// The file layers only, for tests: `dir/default.toml` then `dir/{environment}.toml`.
    pub fn from_files(dir: &Path, environment: &str) -> anyhow::Result<Self> {
        Self::extract(&Self::files(dir, environment)?)
    }

    fn files(dir: &Path, environment: &str) -> anyhow::Result<Figment> {
        let default = dir.join("default.toml");
        if !default.is_file() {
            anyhow::bail!(
                "{} not found (set CONCIERGE_CONFIG_DIR to the folder holding default.toml)",
                default.display()
            );
        }
        let environment = match environment.trim().to_ascii_lowercase().as_str() {
            "dev" => "development".to_owned(),
            "prod" => "production".to_owned(),
            other => other.to_owned(),
        };
        Ok(Figment::new()
            .merge(Toml::file(default))
            .merge(Toml::file(dir.join(format!("{environment}.toml")))))
    }

    fn extract(figment: &Figment) -> anyhow::Result<Self> {
        figment.extract_inner(SECTION).map_err(|error| {
            let first = error.into_iter().next();
            anyhow::anyhow!(
                "sandbox configuration error: {}",
                first.map_or_else(|| "unknown error".to_owned(), |e| e.to_string())
            )
        })
    }
}
