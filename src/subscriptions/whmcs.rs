//! Mapper: a WHMCS service (GetClientsProducts) → [`Subscription`].

use super::domain::{BillingCycle, Subscription, SubscriptionStatus};
use crate::integrations::whmcs::raw;
use crate::money::Money;

/// The custom field holding a SIM service's phone number.
pub const MSISDN_FIELD: &str = "MSISDN";

/// A raw service with the client's currency (GetClientsProducts does not say it).
pub struct ServiceInCurrency {
    pub raw: raw::ClientProduct,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionMapError {
    #[error("service {0} has an unknown status {1:?}")]
    UnknownStatus(u64, String),
    #[error("service {0} has an unknown billing cycle {1:?}")]
    UnknownBillingCycle(u64, String),
    #[error("service {0} has no product name")]
    MissingName(u64),
    #[error("service {0} has a phone number that is not one")]
    InvalidPhoneNumber(u64),
}

fn status(id: u64, text: &str) -> Result<SubscriptionStatus, SubscriptionMapError> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "pending" => SubscriptionStatus::Pending,
        "active" => SubscriptionStatus::Active,
        "suspended" => SubscriptionStatus::Suspended,
        "cancelled" | "fraud" => SubscriptionStatus::Cancelled,
        "terminated" | "completed" => SubscriptionStatus::Terminated,
        _ => return Err(SubscriptionMapError::UnknownStatus(id, text.to_owned())),
    })
}

fn billing_cycle(id: u64, text: &str) -> Result<BillingCycle, SubscriptionMapError> {
    let normalised = text.to_ascii_lowercase().replace(['-', ' ', '_'], "");
    Ok(match normalised.as_str() {
        "monthly" => BillingCycle::Monthly,
        "quarterly" => BillingCycle::Quarterly,
        "semiannually" => BillingCycle::SemiAnnually,
        "annually" => BillingCycle::Annually,
        "biennially" => BillingCycle::Biennially,
        "triennially" => BillingCycle::Triennially,
        "onetime" => BillingCycle::OneTime,
        "freeaccount" | "free" => BillingCycle::Free,
        _ => {
            return Err(SubscriptionMapError::UnknownBillingCycle(
                id,
                text.to_owned(),
            ));
        }
    })
}

/// A phone number: 10 to 15 digits.
pub fn is_phone_number(text: &str) -> bool {
    (10..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

impl TryFrom<ServiceInCurrency> for Subscription {
    type Error = SubscriptionMapError;

    fn try_from(input: ServiceInCurrency) -> Result<Self, Self::Error> {
        let ServiceInCurrency { raw, currency } = input;
        let id = raw.id;
        let product_name = raw.name.trim().to_owned();
        if product_name.is_empty() {
            return Err(SubscriptionMapError::MissingName(id));
        }
        let phone_number = match raw.custom_field(MSISDN_FIELD).map(str::trim) {
            Some(number) if is_phone_number(number) => Some(number.to_owned()),
            Some(_) => return Err(SubscriptionMapError::InvalidPhoneNumber(id)),
            None => None,
        };
        let billing_cycle = billing_cycle(id, &raw.billingcycle)?;
        let next_due_date = match billing_cycle {
            BillingCycle::OneTime | BillingCycle::Free => None,
            _ => raw.nextduedate,
        };
        Ok(Subscription {
            id,
            product_name,
            status: status(id, &raw.status)?,
            billing_cycle,
            next_due_date,
            recurring_amount: Money::from_hundredths(raw.recurringamount.hundredths(), &currency),
            registered_on: raw.regdate,
            phone_number,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(changes: serde_json::Value) -> ServiceInCurrency {
        let mut value = json!({
            "id": "501", "clientid": "1", "orderid": "701", "pid": "103", "regdate": "2026-03-01",
            "name": "SIM Data 20GB", "groupname": "SIM", "recurringamount": "2980.00",
            "billingcycle": "Monthly", "nextduedate": "2026-12-01", "status": "Active",
            "customfields": { "customfield": [
                { "id": "1", "name": "MSISDN", "value": "08012345678" },
                { "id": "2", "name": "ICCID", "value": "8981100000000000001" }
            ] }
        });
        if let (Some(base), Some(changes)) = (value.as_object_mut(), changes.as_object()) {
            for (key, change) in changes {
                base.insert(key.clone(), change.clone());
            }
        }
        ServiceInCurrency {
            raw: serde_json::from_value(value).expect("raw service"),
            currency: "JPY".into(),
        }
    }

    #[test]
    fn a_sim_service_maps_with_its_number_and_price() {
        let subscription = Subscription::try_from(service(json!({}))).expect("maps");
        assert_eq!(subscription.id, 501);
        assert_eq!(subscription.status, SubscriptionStatus::Active);
        assert_eq!(subscription.billing_cycle, BillingCycle::Monthly);
        assert_eq!(subscription.phone_number.as_deref(), Some("08012345678"));
        assert_eq!(
            subscription.recurring_amount,
            Money::from_units(2980, "JPY")
        );
        assert!(subscription.is_sim());
    }

    #[test]
    fn whmcs_statuses_and_cycles_map_to_ours() {
        for (raw, expected) in [
            ("Pending", SubscriptionStatus::Pending),
            ("Suspended", SubscriptionStatus::Suspended),
            ("Fraud", SubscriptionStatus::Cancelled),
            ("Terminated", SubscriptionStatus::Terminated),
            ("Completed", SubscriptionStatus::Terminated),
        ] {
            let mapped = Subscription::try_from(service(json!({ "status": raw }))).expect("maps");
            assert_eq!(mapped.status, expected, "{raw}");
        }
        let once =
            Subscription::try_from(service(json!({ "billingcycle": "One Time" }))).expect("maps");
        assert_eq!(once.billing_cycle, BillingCycle::OneTime);
        assert_eq!(once.next_due_date, None);
        let semi = Subscription::try_from(service(json!({ "billingcycle": "Semi-Annually" })))
            .expect("maps");
        assert_eq!(semi.billing_cycle, BillingCycle::SemiAnnually);
    }

    #[test]
    fn unknown_values_are_refused() {
        assert!(matches!(
            Subscription::try_from(service(json!({ "status": "Exploded" }))),
            Err(SubscriptionMapError::UnknownStatus(501, _))
        ));
        assert!(matches!(
            Subscription::try_from(service(json!({ "billingcycle": "Fortnightly" }))),
            Err(SubscriptionMapError::UnknownBillingCycle(501, _))
        ));
        let bad_number = json!({ "customfields": { "customfield": [
            { "id": "1", "name": "MSISDN", "value": "call me" }
        ] } });
        assert!(Subscription::try_from(service(bad_number)).is_err());
        let no_sim = Subscription::try_from(service(json!({ "customfields": [] }))).expect("maps");
        assert_eq!(no_sim.phone_number, None);
    }
}
