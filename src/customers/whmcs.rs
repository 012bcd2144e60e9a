//! The customer's WHMCS client: GetClientsDetails mapped to a [`BillingProfile`], and a profile change as
//! UpdateClient parameters.

use crate::integrations::ProviderError;
use crate::integrations::whmcs::{ClientRef, WhmcsClient, raw};
use crate::types::Currency;

use super::domain::{Address, BillingProfile, ProfileChange, present};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillingMappingError {
    #[error("the WHMCS client has no id")]
    MissingId,
    #[error("WHMCS answered with client {found} for client {expected}")]
    WrongClient { expected: i64, found: i64 },
}

impl From<BillingMappingError> for ProviderError {
    fn from(error: BillingMappingError) -> Self {
        ProviderError::malformed("whmcs", error.to_string())
    }
}

/// GetClientsDetails for the customer's own client id, checked to be that client.
pub async fn fetch(whmcs: &WhmcsClient, client_id: i64) -> Result<BillingProfile, ProviderError> {
    let id = u64::try_from(client_id).map_err(|_| BillingMappingError::MissingId)?;
    let details = whmcs.get_clients_details(ClientRef::Id(id), false).await?;
    let profile = BillingProfile::try_from(details)?;
    if profile.client_id != client_id {
        return Err(BillingMappingError::WrongClient {
            expected: client_id,
            found: profile.client_id,
        }
        .into());
    }
    Ok(profile)
}

impl TryFrom<raw::ClientDetails> for BillingProfile {
    type Error = BillingMappingError;

    fn try_from(raw: raw::ClientDetails) -> Result<Self, Self::Error> {
        let id = raw.client_id().ok_or(BillingMappingError::MissingId)?;
        let client_id = i64::try_from(id).map_err(|_| BillingMappingError::MissingId)?;
        // A client created at sign-up has no address until the customer gives one.
        let address = match (
            present(&raw.address1),
            present(&raw.city),
            present(&raw.postcode),
        ) {
            (Some(line1), Some(city), Some(postcode)) => Some(Address {
                line1,
                line2: present(&raw.address2),
                city,
                state: present(&raw.state),
                postcode,
                country: raw.countrycode.trim().to_ascii_uppercase(),
            }),
            _ => None,
        };
        let currency = present(&raw.currency_code)
            .and_then(|code| Currency::parse(&code))
            .map(Currency::into_string);
        Ok(BillingProfile {
            client_id,
            first_name: present(&raw.firstname),
            last_name: present(&raw.lastname),
            email: present(&raw.email),
            phone: present(&raw.phonenumber),
            address,
            currency,
        })
    }
}

/// The change as UpdateClient parameters. A new address replaces the whole address, so optional lines the
/// customer left out are cleared rather than kept from the old address.
pub fn update_fields(change: &ProfileChange) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut set = |name: &str, value: &str| fields.push((name.to_owned(), value.to_owned()));
    if let Some(first_name) = &change.first_name {
        set("firstname", first_name);
    }
    if let Some(last_name) = &change.last_name {
        set("lastname", last_name);
    }
    if let Some(phone) = &change.phone {
        set("phonenumber", phone);
    }
    if let Some(address) = &change.address {
        set("address1", &address.line1);
        set("address2", address.line2.as_deref().unwrap_or_default());
        set("city", &address.city);
        set("state", address.state.as_deref().unwrap_or_default());
        set("postcode", &address.postcode);
        set("country", &address.country);
    }
    fields
}

pub async fn apply(
    whmcs: &WhmcsClient,
    client_id: i64,
    change: &ProfileChange,
) -> Result<(), ProviderError> {
    let id = u64::try_from(client_id).map_err(|_| BillingMappingError::MissingId)?;
    let fields = update_fields(change);
    if fields.is_empty() {
        return Ok(());
    }
    whmcs.update_client(id, &fields).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(value: serde_json::Value) -> raw::ClientDetails {
        serde_json::from_value(value).unwrap_or_else(|error| panic!("fixture: {error}"))
    }

    #[test]
    fn a_client_without_an_address_has_none() {
        let profile = BillingProfile::try_from(details(serde_json::json!({
            "id": 7, "firstname": "A", "lastname": "B", "email": "a@b.c", "address1": "", "city": "",
            "postcode": "", "countrycode": "JP", "currency_code": "JPY"
        })));
        let profile = profile.unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(profile.client_id, 7);
        assert_eq!(profile.address, None);
        assert_eq!(profile.phone, None);
        assert_eq!(profile.currency.as_deref(), Some("JPY"));
    }

    #[test]
    fn a_client_without_an_id_is_refused() {
        let result = BillingProfile::try_from(details(serde_json::json!({ "firstname": "A" })));
        assert_eq!(result, Err(BillingMappingError::MissingId));
    }
}
