//! Reads: account detail and this month's traffic.

use serde_json::json;

use super::raw::{AccountDetail, DetailResponse, TrafficInfo};
use super::{FreebitClient, SYSTEM};
use crate::integrations::ProviderError;
use crate::telemetry::redact;

impl FreebitClient {
    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(account)))]
    pub async fn account_detail(&self, account: &str) -> Result<AccountDetail, ProviderError> {
        let payload = json!({
            "version": "2",
            "requestDatas": [{ "kind": "MVNO", "account": account }],
        });
        let response = self.call("getDetail", "mvno/getDetail", payload).await?;
        let detail: DetailResponse = response.json(SYSTEM)?;
        detail
            .response_datas
            .into_iter()
            .find(|found| found.account == account)
            .ok_or_else(|| {
                ProviderError::malformed(SYSTEM, "getDetail answered without the account asked for")
            })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM, account = %redact::phone(account)))]
    pub async fn traffic_info(&self, account: &str) -> Result<TrafficInfo, ProviderError> {
        let payload = json!({ "account": account });
        let response = self
            .call("getTrafficInfo", "mvno/getTrafficInfo", payload)
            .await?;
        response.json(SYSTEM)
    }
}
