//! The customer's Salesforce Contact (and its Account's customer number): the query row mapped to a
//! [`ContactProfile`], and a profile change as Contact fields.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::integrations::ProviderError;
use crate::integrations::salesforce::{SalesforceClient, soql};
use crate::telemetry::redact::Pii;

use super::domain::{Address, ContactProfile, ProfileChange, present};

const SYSTEM: &str = "salesforce";

/// A Contact row of [`fetch`]'s query. The person's name, contact details and address are [`Pii`].
#[derive(Debug, Clone, Deserialize)]
pub struct RawContact {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "FirstName", default)]
    pub first_name: Option<Pii<String>>,
    #[serde(rename = "LastName", default)]
    pub last_name: Option<Pii<String>>,
    #[serde(rename = "Email", default)]
    pub email: Option<Pii<String>>,
    #[serde(rename = "Phone", default)]
    pub phone: Option<Pii<String>>,
    #[serde(rename = "MailingStreet", default)]
    pub mailing_street: Option<Pii<String>>,
    #[serde(rename = "MailingCity", default)]
    pub mailing_city: Option<Pii<String>>,
    #[serde(rename = "MailingState", default)]
    pub mailing_state: Option<Pii<String>>,
    #[serde(rename = "MailingPostalCode", default)]
    pub mailing_postal_code: Option<Pii<String>>,
    #[serde(rename = "MailingCountry", default)]
    pub mailing_country: Option<Pii<String>>,
    #[serde(rename = "Account", default)]
    pub account: Option<RawAccount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawAccount {
    #[serde(rename = "Customer_Number__c", default)]
    pub customer_number: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContactMappingError {
    #[error("no Contact {contact_id} under Account {account_id}")]
    NotFound {
        contact_id: String,
        account_id: String,
    },
    #[error("the Contact has no id")]
    MissingId,
}

impl From<ContactMappingError> for ProviderError {
    fn from(error: ContactMappingError) -> Self {
        ProviderError::malformed(SYSTEM, error.to_string())
    }
}

/// The customer's own Contact, scoped by both their Contact and Account ids.
pub async fn fetch(
    salesforce: &SalesforceClient,
    account_id: &str,
    contact_id: &str,
) -> Result<ContactProfile, ProviderError> {
    let rows: Vec<RawContact> = salesforce
        .query(&format!(
            "SELECT Id, FirstName, LastName, Email, Phone, MailingStreet, MailingCity, MailingState, \
             MailingPostalCode, MailingCountry, Account.Customer_Number__c FROM Contact \
             WHERE Id = {} AND AccountId = {} LIMIT 1",
            soql::quote(contact_id),
            soql::quote(account_id)
        ))
        .await?;
    let raw = rows
        .into_iter()
        .next()
        .ok_or_else(|| ContactMappingError::NotFound {
            contact_id: contact_id.to_owned(),
            account_id: account_id.to_owned(),
        })?;
    Ok(ContactProfile::try_from(raw)?)
}

/// A field's trimmed text, `None` when absent or blank.
fn text(value: &Option<impl AsRef<str>>) -> Option<String> {
    value.as_ref().and_then(present)
}

impl TryFrom<RawContact> for ContactProfile {
    type Error = ContactMappingError;

    fn try_from(raw: RawContact) -> Result<Self, Self::Error> {
        let contact_id = present(&raw.id).ok_or(ContactMappingError::MissingId)?;
        // MailingStreet is one multi-line field: the first line is line 1, the rest line 2.
        let (line1, line2) = match text(&raw.mailing_street) {
            Some(street) => match street.split_once('\n') {
                Some((first, rest)) => (present(first), present(rest.replace('\n', ", "))),
                None => (Some(street), None),
            },
            None => (None, None),
        };
        let city = text(&raw.mailing_city);
        let postcode = text(&raw.mailing_postal_code);
        let mailing_address = match (line1, city, postcode) {
            (Some(line1), Some(city), Some(postcode)) => Some(Address {
                line1,
                line2,
                city,
                state: text(&raw.mailing_state),
                postcode,
                country: text(&raw.mailing_country)
                    .unwrap_or_default()
                    .to_ascii_uppercase(),
            }),
            _ => None,
        };
        Ok(ContactProfile {
            contact_id,
            first_name: text(&raw.first_name),
            last_name: text(&raw.last_name),
            email: text(&raw.email),
            phone: text(&raw.phone),
            mailing_address,
            customer_number: raw.account.as_ref().and_then(|a| text(&a.customer_number)),
        })
    }
}

/// The change as Contact fields. A new address replaces the whole mailing address.
pub fn update_fields(change: &ProfileChange) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut set = |name: &str, value: Value| {
        fields.insert(name.to_owned(), value);
    };
    if let Some(first_name) = &change.first_name {
        set("FirstName", first_name.as_str().into());
    }
    if let Some(last_name) = &change.last_name {
        set("LastName", last_name.as_str().into());
    }
    if let Some(phone) = &change.phone {
        set("Phone", phone.as_str().into());
    }
    if let Some(address) = &change.address {
        let street = match &address.line2 {
            Some(line2) => format!("{}\n{line2}", address.line1),
            None => address.line1.clone(),
        };
        set("MailingStreet", street.into());
        set("MailingCity", address.city.as_str().into());
        set(
            "MailingState",
            address.state.as_deref().map_or(Value::Null, Value::from),
        );
        set("MailingPostalCode", address.postcode.as_str().into());
        set("MailingCountry", address.country.as_str().into());
    }
    fields
}

pub async fn apply(
    salesforce: &SalesforceClient,
    contact_id: &str,
    change: &ProfileChange,
) -> Result<(), ProviderError> {
    let fields = update_fields(change);
    if fields.is_empty() {
        return Ok(());
    }
    salesforce.update("Contact", contact_id, &fields).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_line_street_becomes_line1_and_line2() {
        let raw: RawContact = serde_json::from_value(serde_json::json!({
            "attributes": { "type": "Contact" }, "Id": "003X", "FirstName": "Emma", "LastName": "Laurent",
            "MailingStreet": "12 Rue de Rivoli\nBâtiment B", "MailingCity": "Paris",
            "MailingPostalCode": "75001", "MailingCountry": "fr",
            "Account": { "attributes": { "type": "Account" }, "Customer_Number__c": "CN-1" }
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let profile = ContactProfile::try_from(raw).unwrap_or_else(|error| panic!("{error}"));
        let address = profile.mailing_address.unwrap_or_else(|| panic!("address"));
        assert_eq!(address.line1, "12 Rue de Rivoli");
        assert_eq!(address.line2.as_deref(), Some("Bâtiment B"));
        assert_eq!(address.country, "FR");
        assert_eq!(profile.customer_number.as_deref(), Some("CN-1"));
        assert_eq!(profile.email, None);
    }

    #[test]
    fn debug_shows_none_of_the_contacts_personal_data() {
        let personal = [
            "Emma",
            "Laurent",
            "emma.laurent@example.fr",
            "+33612345678",
            "12 Rue de Rivoli",
            "Paris",
            "Ile-de-France",
            "75001",
            "France",
        ];
        let raw: RawContact = serde_json::from_value(serde_json::json!({
            "attributes": { "type": "Contact" }, "Id": "003X", "FirstName": personal[0],
            "LastName": personal[1], "Email": personal[2], "Phone": personal[3],
            "MailingStreet": personal[4], "MailingCity": personal[5], "MailingState": personal[6],
            "MailingPostalCode": personal[7], "MailingCountry": personal[8],
            "Account": { "attributes": { "type": "Account" }, "Customer_Number__c": "CN-1" }
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let printed = format!("{raw:?}");
        for value in personal {
            assert!(!printed.contains(value), "{value:?} in {printed}");
        }
        assert!(
            printed.contains("003X") && printed.contains("CN-1"),
            "{printed}"
        );
        let profile = ContactProfile::try_from(raw).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(profile.email.as_deref(), Some(personal[2]));
        assert_eq!(profile.phone.as_deref(), Some(personal[3]));
        assert_eq!(profile.first_name.as_deref(), Some(personal[0]));
    }
}
