//! Suspend and resume a line (`/mvno/suspend/`, `/mvno/resume/`: paths guessed, bodies `{authKey, account}`).

use serde_json::json;

use super::{FreebitClient, SYSTEM};
use crate::integrations::ProviderError;
use crate::telemetry::redact;

impl FreebitClient {
    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(account)))]
    pub async fn suspend(&self, account: &str) -> Result<(), ProviderError> {
        self.call_once("suspend", "mvno/suspend", json!({ "account": account }))
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(account)))]
    pub async fn resume(&self, account: &str) -> Result<(), ProviderError> {
        self.call_once("resume", "mvno/resume", json!({ "account": account }))
            .await?;
        Ok(())
    }
}
