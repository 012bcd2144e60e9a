//! Salesforce over REST: OAuth (client credentials or JWT bearer) with one cached session shared by every
//! request, SOQL queries with paging, sObject CRUD, composite requests and sObject collections, and
//! platform-event subscriptions with a durable replay-id store. Transport only: callers bring their own serde
//! types and map them to their domain.

mod auth;
mod call;
mod composite;
mod error;
pub mod events;
mod query;
mod reconcile;
pub mod replay;
mod sobjects;
pub mod soql;
mod wire;

#[cfg(test)]
mod proptests;

use std::sync::Arc;

use anyhow::Context;

pub use composite::{
    CompositeMethod, CompositeSubrequest, CompositeSubresponse, SubrequestBuilder,
    composite_failure,
};
pub use error::{SalesforceApiError, has_error_code, is_not_found, salesforce_errors};
pub use events::{CometdSubscriber, PlatformEvent, PlatformEventSubscriber, ReplayFrom};
pub use query::QueryPage;
pub use reconcile::{create_reconciled, outcome_unknown};
pub use sobjects::{SaveResult, UpsertResult};

use crate::config::ProviderSettings;
use crate::integrations::ProviderClient;
use auth::Authenticator;

const SYSTEM: &str = "salesforce";

/// The Salesforce client: cheap to clone, shared by every request so the session token is fetched once.
#[derive(Clone)]
pub struct SalesforceClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: ProviderClient,
    /// The same transport without retries, for creates (see `ApiCall::once`).
    single: ProviderClient,
    auth: Authenticator,
    version: ApiVersion,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("api_version", &self.inner.version.number)
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    /// Fails on settings that could never authenticate (a missing secret or an unreadable private key), so a
    /// misconfiguration stops startup instead of surfacing on the first customer request.
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        let transport = ProviderClient::new(SYSTEM, settings)?;
        let auth = Authenticator::from_settings(&settings.salesforce)?;
        let version = ApiVersion::parse(&settings.salesforce.api_version)?;
        Ok(Self {
            inner: Arc::new(Inner {
                single: transport.without_retries(),
                transport,
                auth,
                version,
            }),
        })
    }

    /// `v60.0`, as it appears in REST paths.
    pub fn api_version(&self) -> String {
        format!("v{}", self.inner.version.number)
    }

    /// `/services/data/v60.0`: the prefix of every REST path, also what composite subrequest URLs start with.
    pub fn data_path(&self) -> String {
        self.inner.version.data_path()
    }

    fn cometd_path(&self) -> String {
        format!("/cometd/{}", self.inner.version.number)
    }
}

/// The configured API version without its `v` (`60.0`): REST paths want `v60.0`, CometD wants `60.0`.
#[derive(Debug, Clone)]
struct ApiVersion {
    number: String,
}

impl ApiVersion {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        let trimmed = raw.trim();
        let number = trimmed
            .strip_prefix(['v', 'V'])
            .unwrap_or(trimmed)
            .to_owned();
        let (major, minor) = number
            .split_once('.')
            .context("`providers.salesforce.api_version` must look like v60.0")?;
        let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
        anyhow::ensure!(
            digits(major) && digits(minor),
            "`providers.salesforce.api_version` must look like v60.0"
        );
        Ok(Self { number })
    }

    fn data_path(&self) -> String {
        format!("/services/data/v{}", self.number)
    }
}
