//! The Salesforce part, live: the client's contact (the profile's `salesforce_contact` identifier) with its
//! account's fields and open cases, in **one** SOQL query (a parent relationship and a child subquery), so
//! the part costs one round trip. The database connection it reads the identifier on is given back before
//! Salesforce is called.

use serde::Deserialize;

use super::gate::Gate;
use super::model::{SalesforceAccount, SalesforceCase, SalesforceContact, SalesforceData};
use super::parts::{PageDb, PartError};
use crate::crm::identifiers::SALESFORCE_CONTACT;
use crate::crm::profile;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{SalesforceClient, soql};

/// Open cases shown.
const OPEN_CASES: usize = 10;

/// The most characters of one provider text field shown: Salesforce's own text fields hold 255, so more is
/// a provider (or a proxy) gone wrong, and the page must not carry it.
const MAX_TEXT: usize = 255;

fn clip(value: String) -> String {
    if value.chars().count() <= MAX_TEXT {
        return value;
    }
    value.chars().take(MAX_TEXT).collect()
}

fn clip_opt(value: Option<String>) -> Option<String> {
    value.map(clip)
}

/// Whether two Salesforce ids name the same record: an 18-character id is the 15-character one (compared
/// case-sensitively) followed by a case-checksum suffix.
fn same_id(a: &str, b: &str) -> bool {
    soql::is_id(a) && soql::is_id(b) && a.get(..15) == b.get(..15)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawContact {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// `null` when the contact has no account.
    #[serde(default)]
    account: Option<RawAccount>,
    /// `null` when there are none (Salesforce sends no empty child list).
    #[serde(default)]
    cases: Option<RawChildren<RawCase>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAccount {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    billing_city: Option<String>,
    #[serde(default)]
    billing_country: Option<String>,
    #[serde(default, rename = "Customer_Number__c")]
    customer_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawChildren<T> {
    #[serde(default = "Vec::new")]
    records: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawCase {
    id: String,
    #[serde(default)]
    case_number: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    created_date: Option<String>,
}

fn query(contact_id: &str) -> String {
    format!(
        "SELECT Id, Name, Email, Phone, Account.Id, Account.Name, Account.Phone, Account.BillingCity, \
         Account.BillingCountry, Account.Customer_Number__c, \
         (SELECT Id, CaseNumber, Subject, Status, Priority, Origin, CreatedDate FROM Cases \
          WHERE IsClosed = false ORDER BY CreatedDate DESC LIMIT {OPEN_CASES}) \
         FROM Contact WHERE Id = {}",
        soql::quote(contact_id)
    )
}

/// The part's data; an answer about another contact than the one asked for is malformed (the client would
/// be shown a stranger's account and cases), never shown.
fn map(contact_id: String, raw: Option<RawContact>) -> Result<SalesforceData, ProviderError> {
    let Some(raw) = raw else {
        return Ok(SalesforceData {
            contact_id: Some(contact_id),
            found: false,
            contact: None,
            account: None,
            open_cases: Vec::new(),
        });
    };
    if !same_id(&raw.id, &contact_id) {
        return Err(ProviderError::malformed(
            "salesforce",
            "the answer names another contact than the one asked for",
        ));
    }
    let open_cases = raw
        .cases
        .map(|children| children.records)
        .unwrap_or_default()
        .into_iter()
        .take(OPEN_CASES)
        .map(|case| SalesforceCase {
            id: clip(case.id),
            case_number: clip_opt(case.case_number),
            subject: clip_opt(case.subject),
            status: clip_opt(case.status),
            priority: clip_opt(case.priority),
            origin: clip_opt(case.origin),
            created_at: clip_opt(case.created_date),
        })
        .collect();
    Ok(SalesforceData {
        contact_id: Some(contact_id),
        found: true,
        contact: Some(SalesforceContact {
            id: clip(raw.id),
            name: clip_opt(raw.name),
            email: clip_opt(raw.email),
            phone: clip_opt(raw.phone),
        }),
        account: raw.account.map(|account| SalesforceAccount {
            id: clip(account.id),
            name: clip_opt(account.name),
            phone: clip_opt(account.phone),
            billing_city: clip_opt(account.billing_city),
            billing_country: clip_opt(account.billing_country),
            customer_number: clip_opt(account.customer_number),
        }),
        open_cases,
    })
}

pub async fn fetch(
    db: &PageDb<'_>,
    salesforce: &SalesforceClient,
    gate: &Gate,
) -> Result<SalesforceData, PartError> {
    let contact_id = {
        let mut part = db.conn().await?;
        profile::load(&mut part.conn, gate.scope.brand_id, gate.client_id)
            .await?
            .and_then(|profile| {
                profile
                    .identifiers
                    .into_iter()
                    .find(|identifier| {
                        identifier.kind == SALESFORCE_CONTACT && soql::is_id(&identifier.value)
                    })
                    .map(|identifier| identifier.value)
            })
    };
    let Some(contact_id) = contact_id else {
        return Ok(SalesforceData {
            contact_id: None,
            found: false,
            contact: None,
            account: None,
            open_cases: Vec::new(),
        });
    };
    let page = salesforce
        .query_page::<RawContact>(&query(&contact_id))
        .await?;
    map(contact_id, page.records.into_iter().next()).map_err(PartError::Provider)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_maps_with_its_account_and_cases_and_nulls_mean_none() {
        let raw: RawContact = serde_json::from_value(serde_json::json!({
            "attributes": {"type": "Contact"},
            "Id": "003SBDEMO000001AAA", "Name": "Claire Dupont", "Email": null, "Phone": null,
            "Account": {"attributes": {"type": "Account"}, "Id": "001SBDEMO000001AAA", "Name": "Dupont",
                        "Phone": null, "BillingCity": "Paris", "BillingCountry": "FR", "Customer_Number__c": "C-1"},
            "Cases": {"totalSize": 1, "done": true, "records": [
                {"attributes": {"type": "Case"}, "Id": "500SBDEMO000001AAA", "CaseNumber": "00001001",
                 "Subject": "Strap", "Status": "New", "Priority": "High", "Origin": "Store",
                 "CreatedDate": "2026-11-30T10:00:00.000+0000"}]}
        }))
        .unwrap();
        let data = map("003SBDEMO000001AAA".into(), Some(raw)).unwrap();
        assert!(data.found);
        assert_eq!(data.account.unwrap().billing_city.as_deref(), Some("Paris"));
        assert_eq!(data.open_cases.len(), 1);
        let bare: RawContact = serde_json::from_value(serde_json::json!({
            "Id": "003SBDEMO000001AAA", "Account": null, "Cases": null
        }))
        .unwrap();
        let data = map("003SBDEMO000001AAA".into(), Some(bare)).unwrap();
        assert!(data.account.is_none() && data.open_cases.is_empty());
        assert!(!map("003SBDEMO000001AAA".into(), None).unwrap().found);
    }

    #[test]
    fn ids_match_on_their_first_15_characters_case_sensitively() {
        assert!(same_id("003SBDEMO000001", "003SBDEMO000001AAA"));
        assert!(same_id("003SBDEMO000001AAA", "003SBDEMO000001XYZ"));
        assert!(!same_id("003sbdemo000001AAA", "003SBDEMO000001AAA"));
        assert!(!same_id("003SBDEMO000002AAA", "003SBDEMO000001AAA"));
        assert!(!same_id("", "003SBDEMO000001AAA"));
    }
}
