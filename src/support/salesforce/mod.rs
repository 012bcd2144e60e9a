//! The support context's Salesforce side: every SOQL query and write about cases, always scoped by the
//! customer's Account, and the mappers from the raw records (one module per sObject).

pub mod case;
pub mod comment;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use crate::integrations::ProviderError;
use crate::integrations::salesforce::{
    SalesforceClient, composite_failure, create_reconciled, soql,
};
use crate::support::domain::{Case, CaseComment, CaseSummary, NewCase, StatusFilter};
use case::RawCase;
use comment::RawCaseComment;

const SYSTEM: &str = "salesforce";

/// A record Salesforce returned that the portal cannot show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{0}.{1} is missing")]
    Missing(&'static str, &'static str),
    #[error("{0}.{1} is not valid")]
    Invalid(&'static str, &'static str),
}

impl From<MappingError> for ProviderError {
    fn from(error: MappingError) -> Self {
        ProviderError::malformed(SYSTEM, error.to_string())
    }
}

/// Salesforce's datetime spellings: `2026-01-15T09:00:00.000+0000`, or RFC 3339.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(at.to_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

/// A dateTime literal with milliseconds, so a page boundary inside one second stays exact.
fn datetime_literal(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Where the previous page ended, in the list's order (newest first, then by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

/// Up to `limit` of the account's cases, newest first, after `after`.
pub async fn list_cases(
    client: &SalesforceClient,
    account_id: &str,
    status: Option<StatusFilter>,
    after: Option<&After>,
    limit: u32,
) -> Result<Vec<CaseSummary>, ProviderError> {
    let mut conditions = vec![format!("AccountId = {}", soql::quote(account_id))];
    match status {
        Some(StatusFilter::Open) => conditions.push("IsClosed = false".to_owned()),
        Some(StatusFilter::Closed) => conditions.push("IsClosed = true".to_owned()),
        None => {}
    }
    if let Some(after) = after {
        let at = datetime_literal(after.created_at);
        conditions.push(format!(
            "(CreatedDate < {at} OR (CreatedDate = {at} AND Id < {}))",
            soql::quote(&after.id)
        ));
    }
    let query = format!(
        "SELECT {} FROM Case WHERE {} ORDER BY CreatedDate DESC, Id DESC LIMIT {limit}",
        case::FIELDS.join(", "),
        conditions.join(" AND ")
    );
    let records: Vec<RawCase> = client.query(&query).await?;
    records
        .into_iter()
        .map(|raw| Case::try_from(raw).map(|case| case.summary))
        .collect::<Result<_, _>>()
        .map_err(ProviderError::from)
}

/// The account's case `case_id` (`None` when it does not exist or belongs to another account: the two are
/// indistinguishable by construction), with its published comments, oldest first, when `with_comments`.
pub async fn find_case(
    client: &SalesforceClient,
    account_id: &str,
    case_id: &str,
    with_comments: bool,
) -> Result<Option<(Case, Vec<CaseComment>)>, ProviderError> {
    let comments = if with_comments {
        format!(
            ", (SELECT {} FROM CaseComments WHERE IsPublished = true ORDER BY CreatedDate ASC, Id ASC)",
            comment::FIELDS.join(", ")
        )
    } else {
        String::new()
    };
    let query = format!(
        "SELECT {}{comments} FROM Case WHERE Id = {} AND AccountId = {} LIMIT 1",
        case::FIELDS.join(", "),
        soql::quote(case_id),
        soql::quote(account_id),
    );
    let Some(mut raw) = client.query::<RawCase>(&query).await?.into_iter().next() else {
        return Ok(None);
    };
    let mut raw_comments = Vec::new();
    if let Some(children) = raw.case_comments.take() {
        raw_comments = children.records;
        let mut next = children.next_records_url;
        while let Some(cursor) = next.take() {
            let mut page = client.query_more::<RawCaseComment>(&cursor).await?;
            raw_comments.append(&mut page.records);
            next = page.next_records_url.filter(|url| *url != cursor);
        }
    }
    let case = Case::try_from(raw)?;
    let comments = raw_comments
        .into_iter()
        .map(CaseComment::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((case, comments)))
}

/// The case's unique external id field: a key made for each create request.
const CASE_EXTERNAL_ID: &str = "Portal_Case_Key__c";
/// A create whose outcome is unknown is looked up; only a case known to be absent is sent a second time.
const CREATE_SENDS: usize = 2;

/// Creates the case and reads it back (case number, dates) in one all-or-none composite call, sent once
/// under a fresh external id: an unknown outcome is settled by looking the case up by that id.
pub async fn create_case(
    client: &SalesforceClient,
    account_id: &str,
    contact_id: &str,
    new_case: &NewCase,
) -> Result<Case, ProviderError> {
    let key = uuid::Uuid::new_v4().to_string();
    create_reconciled(
        CREATE_SENDS,
        || send_case(client, account_id, contact_id, new_case, &key),
        || find_case_by_key(client, account_id, &key),
    )
    .await
}

async fn send_case(
    client: &SalesforceClient,
    account_id: &str,
    contact_id: &str,
    new_case: &NewCase,
    key: &str,
) -> Result<Case, ProviderError> {
    let (case_type, reason) = case::category_fields(new_case.category);
    let body = json!({
        "AccountId": account_id,
        "ContactId": contact_id,
        "Subject": new_case.subject,
        "Description": new_case.description,
        "Origin": "Web",
        "Status": "New",
        "Priority": case::priority_value(new_case.priority),
        "Type": case_type,
        "Reason": reason,
        CASE_EXTERNAL_ID: key,
    });
    let builder = client.subrequests();
    let requests = vec![
        builder.create("newCase", "Case", body)?,
        builder.get("readCase", "Case", "@{newCase.id}", Some(case::FIELDS))?,
    ];
    let responses = client.composite(true, requests).await?;
    if let Some(error) = composite_failure(&responses) {
        return Err(error);
    }
    let read = responses
        .iter()
        .find(|response| response.reference_id == "readCase")
        .ok_or_else(|| ProviderError::malformed(SYSTEM, "composite answer lacks readCase"))?;
    Ok(Case::try_from(read.body_as::<RawCase>()?)?)
}

/// The account's case created under `key`, if an earlier send created it.
async fn find_case_by_key(
    client: &SalesforceClient,
    account_id: &str,
    key: &str,
) -> Result<Option<Case>, ProviderError> {
    let query = format!(
        "SELECT {} FROM Case WHERE {CASE_EXTERNAL_ID} = {} AND AccountId = {} LIMIT 1",
        case::FIELDS.join(", "),
        soql::quote(key),
        soql::quote(account_id),
    );
    match client.query::<RawCase>(&query).await?.into_iter().next() {
        Some(raw) => Ok(Some(Case::try_from(raw)?)),
        None => Ok(None),
    }
}

/// Adds a published comment to a case and reads it back, in one all-or-none composite call, sent once. The
/// caller has checked that the case is the customer's and still open. CaseComment takes no custom fields, so
/// an unknown outcome is settled by a lookup: a published comment on the case with this text, created since
/// the first send and not one of `known` (the comments already on the case before the send, and those
/// attributed to a customer).
pub async fn create_comment(
    client: &SalesforceClient,
    case_id: &str,
    body: &str,
    known: &HashSet<String>,
) -> Result<CaseComment, ProviderError> {
    // Leeway for the clocks of Salesforce and this server.
    let since = Utc::now() - chrono::Duration::minutes(5);
    create_reconciled(
        CREATE_SENDS,
        || send_comment(client, case_id, body),
        || find_comment(client, case_id, body, since, known),
    )
    .await
}

async fn send_comment(
    client: &SalesforceClient,
    case_id: &str,
    body: &str,
) -> Result<CaseComment, ProviderError> {
    let builder = client.subrequests();
    let requests = vec![
        builder.create(
            "newComment",
            "CaseComment",
            json!({ "ParentId": case_id, "CommentBody": body, "IsPublished": true }),
        )?,
        builder.get(
            "readComment",
            "CaseComment",
            "@{newComment.id}",
            Some(comment::FIELDS),
        )?,
    ];
    let responses = client.composite(true, requests).await?;
    if let Some(error) = composite_failure(&responses) {
        return Err(error);
    }
    let read = responses
        .iter()
        .find(|response| response.reference_id == "readComment")
        .ok_or_else(|| ProviderError::malformed(SYSTEM, "composite answer lacks readComment"))?;
    Ok(CaseComment::try_from(read.body_as::<RawCaseComment>()?)?)
}

/// The comment an earlier send created, if any. Long text cannot be filtered in SOQL: the text is compared
/// here.
async fn find_comment(
    client: &SalesforceClient,
    case_id: &str,
    body: &str,
    since: DateTime<Utc>,
    known: &HashSet<String>,
) -> Result<Option<CaseComment>, ProviderError> {
    let query = format!(
        "SELECT {} FROM CaseComment WHERE ParentId = {} AND IsPublished = true AND CreatedDate >= {} ORDER BY CreatedDate ASC, Id ASC",
        comment::FIELDS.join(", "),
        soql::quote(case_id),
        datetime_literal(since),
    );
    let found = client
        .query::<RawCaseComment>(&query)
        .await?
        .into_iter()
        .find(|raw| {
            raw.id.as_ref().is_some_and(|id| !known.contains(id))
                && raw
                    .comment_body
                    .as_ref()
                    .is_some_and(|text| text.as_str() == body)
        });
    found
        .map(CaseComment::try_from)
        .transpose()
        .map_err(Into::into)
}

/// Takes back a comment whose author could not be recorded, so it is not shown as written by support.
pub async fn delete_comment(
    client: &SalesforceClient,
    comment_id: &str,
) -> Result<(), ProviderError> {
    client.delete("CaseComment", comment_id).await
}
