//! Single records: `{data}/sobjects/{Type}/{Id}`. Also how platform events are published.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::call::ApiCall;
use super::error::{SalesforceApiError, rejection};
use super::{SYSTEM, SalesforceClient, soql, wire};
use crate::integrations::ProviderError;

/// What a create (or each record of a collection call) answers: `{"id","success","errors"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaveResult {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default, deserialize_with = "wire::null_as_default")]
    pub errors: Vec<SalesforceApiError>,
}

impl SaveResult {
    /// The record's id, or the rejection its errors describe.
    pub fn into_id(self) -> Result<String, ProviderError> {
        match (self.success, self.id) {
            (true, Some(id)) if !id.is_empty() => Ok(id),
            (true, _) => Err(ProviderError::malformed(
                SYSTEM,
                "save result reports success without an id",
            )),
            (false, _) => Err(rejection(Some(400), self.errors)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertResult {
    /// Absent when an older API version answers an update with 204 and no body.
    pub id: Option<String>,
    pub created: bool,
}

#[derive(Deserialize)]
struct RawUpsert {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created: Option<bool>,
}

impl SalesforceClient {
    /// `POST {data}/sobjects/{Type}/` → the new record's id. Sent once (see [`super::create_reconciled`]).
    #[tracing::instrument(skip_all, fields(sobject = sobject))]
    pub async fn create<B: Serialize + ?Sized>(
        &self,
        sobject: &str,
        body: &B,
    ) -> Result<String, ProviderError> {
        let path = format!("{}/", self.sobject_path(sobject)?);
        let call = ApiCall::new(Method::POST, path).json(body)?.once();
        self.send_json::<SaveResult>("sobject_create", &call)
            .await?
            .into_id()
    }

    /// Publishes a platform event (`POST {data}/sobjects/Name__e/`). The save result carries the event's UUID
    /// as an `OPERATION_ENQUEUED` entry of `errors`, even though it succeeded.
    #[tracing::instrument(skip_all, fields(event = event))]
    pub async fn publish_event<B: Serialize + ?Sized>(
        &self,
        event: &str,
        payload: &B,
    ) -> Result<SaveResult, ProviderError> {
        let result = self.save("event_publish", event, payload).await?;
        if !result.success {
            return Err(rejection(Some(400), result.errors));
        }
        Ok(result)
    }

    /// `GET {data}/sobjects/{Type}/{Id}?fields=A,B`; every field when `fields` is `None`.
    #[tracing::instrument(skip_all, fields(sobject = sobject))]
    pub async fn get<T: DeserializeOwned>(
        &self,
        sobject: &str,
        id: &str,
        fields: Option<&[&str]>,
    ) -> Result<T, ProviderError> {
        let mut call = ApiCall::new(Method::GET, self.record_path(sobject, id)?);
        if let Some(fields) = fields {
            call = call.query("fields", field_list(fields)?);
        }
        self.send_json("sobject_get", &call).await
    }

    /// `PATCH {data}/sobjects/{Type}/{Id}` → 204.
    #[tracing::instrument(skip_all, fields(sobject = sobject))]
    pub async fn update<B: Serialize + ?Sized>(
        &self,
        sobject: &str,
        id: &str,
        body: &B,
    ) -> Result<(), ProviderError> {
        let call = ApiCall::new(Method::PATCH, self.record_path(sobject, id)?).json(body)?;
        self.send("sobject_update", &call).await.map(drop)
    }

    /// `DELETE {data}/sobjects/{Type}/{Id}` → 204.
    #[tracing::instrument(skip_all, fields(sobject = sobject))]
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), ProviderError> {
        let call = ApiCall::new(Method::DELETE, self.record_path(sobject, id)?);
        self.send("sobject_delete", &call).await.map(drop)
    }

    /// `PATCH {data}/sobjects/{Type}/{ExternalIdField}/{value}`: creates or updates by external id, which
    /// makes a retried write safe where a retried create could duplicate the record.
    #[tracing::instrument(skip_all, fields(sobject = sobject, external_id_field = external_id_field))]
    pub async fn upsert<B: Serialize + ?Sized>(
        &self,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        body: &B,
    ) -> Result<UpsertResult, ProviderError> {
        let path = format!(
            "{}/{}/{}",
            self.sobject_path(sobject)?,
            api_name(external_id_field, "external id field")?,
            wire::percent_encode(external_id)
        );
        let call = ApiCall::new(Method::PATCH, path).json(body)?;
        let response = self.send("sobject_upsert", &call).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(UpsertResult {
                id: None,
                created: response.status.as_u16() == 201,
            });
        }
        let raw: RawUpsert = response.json(SYSTEM)?;
        Ok(UpsertResult {
            id: raw.id,
            created: raw.created.unwrap_or(response.status.as_u16() == 201),
        })
    }

    async fn save<B: Serialize + ?Sized>(
        &self,
        operation: &'static str,
        sobject: &str,
        body: &B,
    ) -> Result<SaveResult, ProviderError> {
        let path = format!("{}/", self.sobject_path(sobject)?);
        let call = ApiCall::new(Method::POST, path).json(body)?;
        self.send_json(operation, &call).await
    }

    fn sobject_path(&self, sobject: &str) -> Result<String, ProviderError> {
        Ok(format!(
            "{}/sobjects/{}",
            self.data_path(),
            api_name(sobject, "sObject type")?
        ))
    }

    fn record_path(&self, sobject: &str, id: &str) -> Result<String, ProviderError> {
        Ok(format!(
            "{}/{}",
            self.sobject_path(sobject)?,
            record_id(id)?
        ))
    }
}

/// API names are letters, digits and underscores (`Order`, `OrderProvisionRequested__e`). Anything else is
/// refused before it can reach a URL, the way Salesforce itself would answer: not found.
pub(super) fn api_name<'a>(name: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    let valid = !name.is_empty()
        && name.len() <= 80
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(not_found(&format!("{what} name is not valid")))
    }
}

pub(super) fn record_id(id: &str) -> Result<&str, ProviderError> {
    if soql::is_id(id) {
        Ok(id)
    } else {
        Err(not_found("record id is not valid"))
    }
}

pub(super) fn field_list(fields: &[&str]) -> Result<String, ProviderError> {
    for field in fields {
        // Relationship fields (`Account.Name`) are dotted API names.
        if field.is_empty()
            || field
                .split('.')
                .any(|part| api_name(part, "field").is_err())
        {
            return Err(rejection(
                Some(400),
                vec![SalesforceApiError {
                    code: "INVALID_FIELD".to_owned(),
                    message: "field name is not valid".to_owned(),
                    fields: Vec::new(),
                }],
            ));
        }
    }
    Ok(fields.join(","))
}

fn not_found(message: &str) -> ProviderError {
    rejection(
        Some(404),
        vec![SalesforceApiError {
            code: "NOT_FOUND".to_owned(),
            message: message.to_owned(),
            fields: Vec::new(),
        }],
    )
}
