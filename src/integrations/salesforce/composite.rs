//! Several calls in one round trip: `POST {data}/composite` (subrequests that may reference each other's
//! results with `@{referenceId.field}`) and `POST {data}/composite/sobjects` (up to 200 records at once).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::call::ApiCall;
use super::error::{SalesforceApiError, parse_errors, rejection};
use super::sobjects::{SaveResult, api_name, field_list, record_id};
use super::{SYSTEM, SalesforceClient, wire};
use crate::integrations::ProviderError;

const PROCESSING_HALTED: &str = "PROCESSING_HALTED";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CompositeMethod {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubrequest {
    pub method: CompositeMethod,
    /// A full data path, e.g. `/services/data/v60.0/sobjects/Order`; see [`SubrequestBuilder`].
    pub url: String,
    pub reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    pub reference_id: String,
    pub http_status_code: u16,
    /// A save result, a record, a query page, or an error array, depending on the subrequest and outcome.
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub http_headers: Value,
}

impl CompositeSubresponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status_code)
    }

    /// The id a create answered with.
    pub fn id(&self) -> Option<&str> {
        self.body.get("id").and_then(Value::as_str)
    }

    pub fn location(&self) -> Option<&str> {
        self.http_headers.get("Location").and_then(Value::as_str)
    }

    /// The errors of a failed subrequest (an error array body, or the `errors` of a save result).
    pub fn errors(&self) -> Vec<SalesforceApiError> {
        match &self.body {
            Value::Array(_) => serde_json::to_vec(&self.body)
                .map(|bytes| parse_errors(&bytes))
                .unwrap_or_default(),
            Value::Object(object) => object
                .get("errors")
                .and_then(|errors| serde_json::from_value(errors.clone()).ok())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// `None` on success; otherwise the rejection its errors describe.
    pub fn error(&self) -> Option<ProviderError> {
        if self.is_success() {
            return None;
        }
        let mut errors = self.errors();
        if errors.is_empty() {
            errors.push(SalesforceApiError {
                code: format!("HTTP_{}", self.http_status_code),
                message: String::new(),
                fields: Vec::new(),
            });
        }
        Some(rejection(Some(self.http_status_code), errors))
    }

    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_value(self.body.clone())
            .map_err(|error| ProviderError::malformed(SYSTEM, error.to_string()))
    }
}

/// The failure that explains an all-or-none composite: the first subrequest that failed for a reason of its
/// own, rather than one of the others that only report `PROCESSING_HALTED` because of it.
pub fn composite_failure(responses: &[CompositeSubresponse]) -> Option<ProviderError> {
    let failed = || responses.iter().filter(|response| !response.is_success());
    failed()
        .find(|response| {
            response
                .errors()
                .iter()
                .any(|error| error.code != PROCESSING_HALTED)
        })
        .or_else(|| failed().next())
        .and_then(CompositeSubresponse::error)
}

/// Makes subrequests with URLs for the client's API version. Ids may be `@{reference.field}` references to
/// earlier subrequests of the same composite.
#[derive(Debug, Clone)]
pub struct SubrequestBuilder {
    data_path: String,
}

impl SubrequestBuilder {
    pub fn create(
        &self,
        reference_id: &str,
        sobject: &str,
        body: Value,
    ) -> Result<CompositeSubrequest, ProviderError> {
        Ok(self.subrequest(
            CompositeMethod::Post,
            format!(
                "{}/sobjects/{}",
                self.data_path,
                api_name(sobject, "sObject type")?
            ),
            reference_id,
            Some(body),
        ))
    }

    pub fn update(
        &self,
        reference_id: &str,
        sobject: &str,
        id: &str,
        body: Value,
    ) -> Result<CompositeSubrequest, ProviderError> {
        Ok(self.subrequest(
            CompositeMethod::Patch,
            self.record_url(sobject, id)?,
            reference_id,
            Some(body),
        ))
    }

    /// `PATCH {data}/sobjects/{Type}/{ExternalIdField}/{value}`: creates or updates by external id; safe to
    /// send again.
    pub fn upsert(
        &self,
        reference_id: &str,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        body: Value,
    ) -> Result<CompositeSubrequest, ProviderError> {
        Ok(self.subrequest(
            CompositeMethod::Patch,
            format!(
                "{}/sobjects/{}/{}/{}",
                self.data_path,
                api_name(sobject, "sObject type")?,
                api_name(external_id_field, "external id field")?,
                wire::percent_encode(external_id)
            ),
            reference_id,
            Some(body),
        ))
    }

    pub fn get(
        &self,
        reference_id: &str,
        sobject: &str,
        id: &str,
        fields: Option<&[&str]>,
    ) -> Result<CompositeSubrequest, ProviderError> {
        let mut url = self.record_url(sobject, id)?;
        if let Some(fields) = fields {
            url = format!("{url}?fields={}", field_list(fields)?);
        }
        Ok(self.subrequest(CompositeMethod::Get, url, reference_id, None))
    }

    pub fn delete(
        &self,
        reference_id: &str,
        sobject: &str,
        id: &str,
    ) -> Result<CompositeSubrequest, ProviderError> {
        Ok(self.subrequest(
            CompositeMethod::Delete,
            self.record_url(sobject, id)?,
            reference_id,
            None,
        ))
    }

    pub fn query(&self, reference_id: &str, soql: &str) -> CompositeSubrequest {
        self.subrequest(
            CompositeMethod::Get,
            format!("{}/query?q={}", self.data_path, wire::percent_encode(soql)),
            reference_id,
            None,
        )
    }

    fn record_url(&self, sobject: &str, id: &str) -> Result<String, ProviderError> {
        let id = if is_reference(id) { id } else { record_id(id)? };
        Ok(format!(
            "{}/sobjects/{}/{id}",
            self.data_path,
            api_name(sobject, "sObject type")?
        ))
    }

    fn subrequest(
        &self,
        method: CompositeMethod,
        url: String,
        reference_id: &str,
        body: Option<Value>,
    ) -> CompositeSubrequest {
        CompositeSubrequest {
            method,
            url,
            reference_id: reference_id.to_owned(),
            body,
        }
    }
}

/// `@{refOrder.id}`: a reference to an earlier subrequest's result.
fn is_reference(value: &str) -> bool {
    value
        .strip_prefix("@{")
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
        })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompositeRequest<'a> {
    all_or_none: bool,
    composite_request: &'a [CompositeSubrequest],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeResponse {
    composite_response: Vec<CompositeSubresponse>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CollectionRequest {
    all_or_none: bool,
    records: Vec<Value>,
}

impl SalesforceClient {
    pub fn subrequests(&self) -> SubrequestBuilder {
        SubrequestBuilder {
            data_path: self.data_path(),
        }
    }

    /// Runs the subrequests in order. The call succeeds when Salesforce answered; each subresponse says how
    /// its own subrequest went (see [`composite_failure`] for all-or-none batches). A batch that creates
    /// (a POST subrequest) is sent once: its caller reconciles by external id before sending it again.
    pub async fn composite(
        &self,
        all_or_none: bool,
        subrequests: Vec<CompositeSubrequest>,
    ) -> Result<Vec<CompositeSubresponse>, ProviderError> {
        let body = CompositeRequest {
            all_or_none,
            composite_request: &subrequests,
        };
        let mut call =
            ApiCall::new(Method::POST, format!("{}/composite", self.data_path())).json(&body)?;
        if subrequests
            .iter()
            .any(|subrequest| subrequest.method == CompositeMethod::Post)
        {
            call = call.once();
        }
        let response: CompositeResponse = self.send_json("composite", &call).await?;
        Ok(response.composite_response)
    }

    /// Creates records of one type in one call (`POST {data}/composite/sobjects`, at most 200). Each record
    /// gets `attributes.type` unless it already has one; results come back in the order of `records`.
    pub async fn create_collection<T: Serialize>(
        &self,
        all_or_none: bool,
        sobject: &str,
        records: &[T],
    ) -> Result<Vec<SaveResult>, ProviderError> {
        let sobject = api_name(sobject, "sObject type")?;
        let records = records
            .iter()
            .map(|record| with_type_attribute(record, sobject))
            .collect::<Result<Vec<_>, _>>()?;
        let expected = records.len();
        let call = ApiCall::new(
            Method::POST,
            format!("{}/composite/sobjects", self.data_path()),
        )
        .json(&CollectionRequest {
            all_or_none,
            records,
        })?
        .once();
        let results: Vec<SaveResult> = self.send_json("collection_create", &call).await?;
        if results.len() != expected {
            return Err(ProviderError::malformed(
                SYSTEM,
                format!(
                    "collection answered {} results for {expected} records",
                    results.len()
                ),
            ));
        }
        Ok(results)
    }
}

fn with_type_attribute<T: Serialize>(record: &T, sobject: &str) -> Result<Value, ProviderError> {
    let mut value = serde_json::to_value(record).map_err(|error| {
        ProviderError::rejected(SYSTEM, None, "UNSERIALIZABLE_BODY", error.to_string())
    })?;
    let Value::Object(object) = &mut value else {
        return Err(ProviderError::rejected(
            SYSTEM,
            None,
            "UNSERIALIZABLE_BODY",
            "a collection record must serialise to a JSON object",
        ));
    };
    let attributes = object
        .entry("attributes")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(attributes) = attributes {
        attributes
            .entry("type")
            .or_insert_with(|| Value::String(sobject.to_owned()));
    }
    Ok(value)
}
