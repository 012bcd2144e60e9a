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
use crate::integrations::salesforce::{SalesforceClient, soql};

/// Open cases shown.
const OPEN_CASES: usize = 10;

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

fn map(contact_id: String, raw: Option<RawContact>) -> SalesforceData {
    let Some(raw) = raw else {
        return SalesforceData {
            contact_id: Some(contact_id),
            found: false,
            contact: None,
            account: None,
            open_cases: Vec::new(),
        };
    };
    let open_cases = raw
        .cases
        .map(|children| children.records)
        .unwrap_or_default()
        .into_iter()
        .take(OPEN_CASES)
        .map(|case| SalesforceCase {
            id: case.id,
            case_number: case.case_number,
            subject: case.subject,
            status: case.status,
            priority: case.priority,
            origin: case.origin,
            created_at: case.created_date,
        })
        .collect();
    SalesforceData {
        contact_id: Some(contact_id),
        found: true,
        contact: Some(SalesforceContact {
            id: raw.id,
            name: raw.name,
            email: raw.email,
            phone: raw.phone,
        }),
        account: raw.account.map(|account| SalesforceAccount {
            id: account.id,
            name: account.name,
            phone: account.phone,
            billing_city: account.billing_city,
            billing_country: account.billing_country,
            customer_number: account.customer_number,
        }),
        open_cases,
    }
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
    Ok(map(contact_id, page.records.into_iter().next()))
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
        let data = map("003SBDEMO000001AAA".into(), Some(raw));
        assert!(data.found);
        assert_eq!(data.account.unwrap().billing_city.as_deref(), Some("Paris"));
        assert_eq!(data.open_cases.len(), 1);
        let bare: RawContact = serde_json::from_value(serde_json::json!({
            "Id": "003SBDEMO000001AAA", "Account": null, "Cases": null
        }))
        .unwrap();
        let data = map("003SBDEMO000001AAA".into(), Some(bare));
        assert!(data.account.is_none() && data.open_cases.is_empty());
        assert!(!map("003SBDEMO000001AAA".into(), None).found);
    }
}
