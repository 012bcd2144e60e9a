//! Property tests: the profile's validators and the WHMCS/Salesforce mappers answer every input without a
//! panic, and what they accept is stable.

use proptest::prelude::*;
use serde_json::json;

use super::domain::{BillingProfile, ContactProfile};
use super::salesforce::RawContact;
use super::validation::{normalize_postcode, profile_change};
use crate::integrations::whmcs::raw::ClientDetails;
use crate::testing::{any_json, config, hostile_text, mutated};
use crate::types::is_e164;

fn country() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["JP", "FR", "DE", "US", "CA", "GB", "NL", ""])
            .prop_map(str::to_owned),
        "[A-Z]{2}",
        hostile_text(),
    ]
}

fn profile_body() -> serde_json::Value {
    json!({
        "first_name": "Hanako", "last_name": "Yamada", "phone": "+819012345678",
        "address": { "line1": "1-2-3 Shibuya", "line2": "Room 4", "city": "Tokyo", "state": "Tokyo",
                     "postcode": "150-0002", "country": "JP" }
    })
}

fn client_details() -> serde_json::Value {
    json!({
        "result": "success", "userid": 7, "id": "7", "client_id": 7,
        "firstname": "Hanako", "lastname": "Yamada", "companyname": "", "email": "hanako@example.jp",
        "address1": "1-2-3 Shibuya", "address2": "", "city": "Tokyo", "state": "Tokyo",
        "postcode": "150-0002", "countrycode": "JP", "phonenumber": "+81.9012345678",
        "status": "Active", "currency": "1", "currency_code": "JPY", "credit": "0.00", "language": "",
        "client": { "users": { "user": [ { "id": 3, "name": "Hanako", "email": "hanako@example.jp", "is_owner": true } ] } },
        "stats": { "numdueinvoices": "1", "dueinvoicesbalance": "¥1,200", "income": "0.00" }
    })
}

fn contact() -> serde_json::Value {
    json!({
        "attributes": { "type": "Contact" }, "Id": "003X", "FirstName": "Emma", "LastName": "Laurent",
        "Email": "emma@example.fr", "Phone": "+33612345678",
        "MailingStreet": "12 Rue de Rivoli\nBâtiment B", "MailingCity": "Paris", "MailingState": "IDF",
        "MailingPostalCode": "75001", "MailingCountry": "fr",
        "Account": { "attributes": { "type": "Account" }, "Customer_Number__c": "CN-1" }
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_postcode_is_answered_and_its_canonical_form_is_canonical(
        country in country(),
        postcode in hostile_text(),
    ) {
        if let Some(canonical) = normalize_postcode(&country, &postcode) {
            prop_assert_eq!(normalize_postcode(&country, &canonical), Some(canonical.clone()));
            prop_assert!(canonical.is_ascii(), "{canonical:?}");
        }
    }

    #[test]
    fn a_postcode_of_digits_in_any_layout_is_answered(
        country in country(),
        digits in "[0-9]{0,9}",
        cut in 0usize..10,
        separator in prop::sample::select(vec!["-", " ", "ー", "－", "日", ""]),
    ) {
        let cut = cut.min(digits.len());
        let postcode = format!("{}{separator}{}", &digits[..cut], &digits[cut..]);
        let _ = normalize_postcode(&country, &postcode);
    }

    #[test]
    fn a_phone_is_answered_and_an_accepted_one_is_plus_and_digits(phone in hostile_text()) {
        if is_e164(&phone) {
            prop_assert!(phone.starts_with('+'));
            prop_assert!(phone[1..].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn any_json_body_gets_a_change_or_field_errors(body in any_json()) {
        if let Err(errors) = profile_change(&body) {
            prop_assert!(!errors.is_empty());
        }
    }

    #[test]
    fn a_profile_body_with_wrong_values_gets_a_change_or_field_errors(body in mutated(profile_body())) {
        if let Err(errors) = profile_change(&body) {
            prop_assert!(!errors.is_empty());
        }
    }

    #[test]
    fn a_whmcs_client_with_drifted_fields_maps_or_is_refused(body in mutated(client_details())) {
        if let Ok(details) = serde_json::from_value::<ClientDetails>(body) {
            let _ = BillingProfile::try_from(details);
        }
    }

    #[test]
    fn a_salesforce_contact_with_drifted_fields_maps_or_is_refused(body in mutated(contact())) {
        if let Ok(raw) = serde_json::from_value::<RawContact>(body)
            && let Ok(profile) = ContactProfile::try_from(raw)
            && let Some(address) = profile.mailing_address
        {
            prop_assert!(!address.line1.is_empty());
        }
    }
}

#[test]
fn the_samples_map() {
    let details: ClientDetails =
        serde_json::from_value(client_details()).unwrap_or_else(|e| panic!("{e}"));
    assert!(BillingProfile::try_from(details).is_ok());
    let raw: RawContact = serde_json::from_value(contact()).unwrap_or_else(|e| panic!("{e}"));
    assert!(ContactProfile::try_from(raw).is_ok());
    assert!(profile_change(&profile_body()).is_ok());
}
