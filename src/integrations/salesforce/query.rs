//! SOQL queries: `GET {data}/query?q=…`, then `GET {nextRecordsUrl}` until `done`.

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::call::ApiCall;
use super::{SYSTEM, SalesforceClient, wire};
use crate::integrations::ProviderError;

/// One page of a query. Records keep their `attributes` object; a caller's type may simply not declare it.
#[derive(Debug, Clone)]
pub struct QueryPage<T> {
    pub total_size: u64,
    pub done: bool,
    pub records: Vec<T>,
    /// The cursor for [`SalesforceClient::query_more`]; `None` once `done`.
    pub next_records_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage<T> {
    #[serde(default, deserialize_with = "wire::lenient_u64")]
    total_size: u64,
    #[serde(default)]
    done: Option<bool>,
    #[serde(default)]
    next_records_url: Option<String>,
    #[serde(default = "Vec::new")]
    records: Vec<T>,
}

impl SalesforceClient {
    /// Every record the query matches, following `nextRecordsUrl` page after page.
    pub async fn query<T: DeserializeOwned>(&self, soql: &str) -> Result<Vec<T>, ProviderError> {
        let mut page = self.query_page::<T>(soql).await?;
        let mut records = std::mem::take(&mut page.records);
        while let Some(cursor) = page.next_records_url.take() {
            page = self.query_more::<T>(&cursor).await?;
            if page.next_records_url.as_deref() == Some(cursor.as_str()) {
                return Err(ProviderError::malformed(
                    SYSTEM,
                    "query paging returned the same nextRecordsUrl twice",
                ));
            }
            records.append(&mut page.records);
        }
        Ok(records)
    }

    /// The first page only, with the cursor to the next.
    pub async fn query_page<T: DeserializeOwned>(
        &self,
        soql: &str,
    ) -> Result<QueryPage<T>, ProviderError> {
        let call =
            ApiCall::new(Method::GET, format!("{}/query", self.data_path())).query("q", soql);
        self.fetch_page(&call).await
    }

    /// The page a previous page's `next_records_url` points at.
    pub async fn query_more<T: DeserializeOwned>(
        &self,
        next_records_url: &str,
    ) -> Result<QueryPage<T>, ProviderError> {
        // The cursor comes from a response; it must stay a path on the instance, where the token may go.
        if !next_records_url.starts_with("/services/data/") || next_records_url.contains("..") {
            return Err(ProviderError::malformed(
                SYSTEM,
                "nextRecordsUrl is not a query path on the instance",
            ));
        }
        self.fetch_page(&ApiCall::new(Method::GET, next_records_url))
            .await
    }

    async fn fetch_page<T: DeserializeOwned>(
        &self,
        call: &ApiCall,
    ) -> Result<QueryPage<T>, ProviderError> {
        let raw: RawPage<T> = self.send_json("query", call).await?;
        let next_records_url = raw.next_records_url.filter(|url| !url.is_empty());
        let done = raw.done.unwrap_or(next_records_url.is_none());
        if !done && next_records_url.is_none() {
            return Err(ProviderError::malformed(
                SYSTEM,
                "query page is not done but has no nextRecordsUrl",
            ));
        }
        Ok(QueryPage {
            total_size: raw.total_size,
            done,
            records: raw.records,
            next_records_url: if done { None } else { next_records_url },
        })
    }
}
