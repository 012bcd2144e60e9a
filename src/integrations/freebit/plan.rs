//! Plan change (`/mvno/changePlan/`, path guessed). Freebit applies it on `runTime`; a date in the past
//! or today applies at once.

use chrono::NaiveDate;
use serde_json::json;

use super::{DATE_FORMAT, FreebitClient, SYSTEM, invalid_request};
use crate::integrations::ProviderError;
use crate::telemetry::redact;

impl FreebitClient {
    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(account), plan_code = %plan_code))]
    pub async fn change_plan(
        &self,
        account: &str,
        plan_code: &str,
        run_time: NaiveDate,
    ) -> Result<(), ProviderError> {
        if plan_code.trim().is_empty() {
            return Err(invalid_request("a plan code is required"));
        }
        let payload = json!({
            "account": account,
            "planCode": plan_code,
            "runTime": run_time.format(DATE_FORMAT).to_string(),
        });
        self.call("changePlan", "mvno/changePlan", payload).await?;
        Ok(())
    }
}
