//! The customer's links to WHMCS and Salesforce, and their profile as the portal sees it, independent of
//! both systems, with the rules that merge the two systems' views of one person.
//!
//! Precedence, field by field (the first system with a non-empty value wins):
//! - name, e-mail, phone: the Salesforce Contact (the CRM owns who the person is and how to reach them),
//!   then the WHMCS client, then the portal account;
//! - postal address: the WHMCS client (the billing address invoices are issued to), then the Contact's
//!   mailing address;
//! - currency: the WHMCS client (the currency it is invoiced in);
//! - customer number: the Salesforce Account (`Customer_Number__c`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A fully linked customer: every portal call about their account goes to these records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLinks {
    pub user_id: Uuid,
    pub whmcs_client_id: i64,
    pub salesforce_account_id: String,
    pub salesforce_contact_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// The accounts in WHMCS and Salesforce are being found or created; retried until they are.
    Linking,
    Linked,
}

/// A postal address. `country` is ISO 3166-1 alpha-2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub postcode: String,
    #[schema(example = "JP")]
    pub country: String,
}

/// The WHMCS client's view of the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingProfile {
    pub client_id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub currency: Option<String>,
}

/// The Salesforce Contact's (and its Account's) view of the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactProfile {
    pub contact_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mailing_address: Option<Address>,
    pub customer_number: Option<String>,
}

/// What the portal account itself knows (from sign-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalAccount {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// How a profile change stands in one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SystemUpdateStatus {
    /// The system has the change.
    Applied,
    /// The system could not be reached; a background job retries until it has the change.
    Retrying,
    /// The system refused the change, or it could not be applied after every retry; it is not retried.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SystemStatuses {
    pub whmcs: SystemUpdateStatus,
    pub salesforce: SystemUpdateStatus,
}

/// The overall state of a profile change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Both systems have the change.
    Applied,
    /// At least one system is still being retried.
    Pending,
    /// A system refused the change; see `systems` for which.
    Failed,
}

impl SystemStatuses {
    pub fn overall(self) -> UpdateStatus {
        use SystemUpdateStatus::*;
        match (self.whmcs, self.salesforce) {
            (Applied, Applied) => UpdateStatus::Applied,
            (Failed, _) | (_, Failed) => UpdateStatus::Failed,
            _ => UpdateStatus::Pending,
        }
    }
}

/// The outcome of `PATCH /me`, and the state of a change not yet fully applied on `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProfileUpdate {
    pub id: Uuid,
    pub status: UpdateStatus,
    pub systems: SystemStatuses,
}

/// `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Profile {
    /// The portal account id.
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: Option<String>,
    pub address: Option<Address>,
    /// ISO 4217 code of the currency the customer is invoiced in.
    #[schema(example = "JPY")]
    pub currency: Option<String>,
    #[schema(example = "CN-100001")]
    pub customer_number: Option<String>,
    /// `linking` while the customer's records in the billing and CRM systems are still being set up: the
    /// profile then holds only what the portal account knows.
    pub link_status: LinkStatus,
    /// The latest profile change when it is not fully applied yet (or failed).
    pub pending_update: Option<ProfileUpdate>,
    /// The systems that could not be read for this answer, with the fields they are the first source of.
    /// Empty when both answered. Those fields hold the next source's value (or null) and may be out of date;
    /// show them as unavailable and read the profile again later.
    pub unavailable: Vec<UnavailableSource>,
}

/// A system of record behind the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSystem {
    Whmcs,
    Salesforce,
}

/// A field of [`Profile`] that comes from a system of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    FirstName,
    LastName,
    Email,
    Phone,
    Address,
    Currency,
    CustomerNumber,
}

impl ProfileSystem {
    /// The fields this system is the first source of, by the precedence on this module.
    pub fn fields(self) -> Vec<ProfileField> {
        use ProfileField::*;
        match self {
            ProfileSystem::Whmcs => vec![Address, Currency],
            ProfileSystem::Salesforce => vec![FirstName, LastName, Email, Phone, CustomerNumber],
        }
    }
}

/// Why a system's view is missing from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableReason {
    /// Down, busy or too slow to answer: try again shortly.
    Unavailable,
    /// It answered with something the portal could not use.
    Error,
}

/// A system that could not be read for this answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnavailableSource {
    pub system: ProfileSystem,
    pub reason: UnavailableReason,
    /// The profile fields this system is the first source of.
    pub fields: Vec<ProfileField>,
}

impl UnavailableSource {
    pub fn new(system: ProfileSystem, transient: bool) -> Self {
        Self {
            system,
            reason: if transient {
                UnavailableReason::Unavailable
            } else {
                UnavailableReason::Error
            },
            fields: system.fields(),
        }
    }
}

impl Profile {
    /// A profile from the portal account alone (while linking).
    pub fn from_portal(account: PortalAccount) -> Self {
        Self {
            id: account.user_id,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            phone: None,
            address: None,
            currency: None,
            customer_number: None,
            link_status: LinkStatus::Linking,
            pending_update: None,
            unavailable: Vec::new(),
        }
    }

    /// Merges both systems' views with the precedence documented on this module; a system that could not
    /// be read (`None`) leaves its fields to the next source.
    pub fn merge(
        account: PortalAccount,
        billing: Option<BillingProfile>,
        contact: Option<ContactProfile>,
    ) -> Self {
        let (b_first, b_last, b_email, b_phone, b_address, currency) = match billing {
            Some(b) => (
                b.first_name,
                b.last_name,
                b.email,
                b.phone,
                b.address,
                b.currency,
            ),
            None => (None, None, None, None, None, None),
        };
        let (c_first, c_last, c_email, c_phone, c_address, customer_number) = match contact {
            Some(c) => (
                c.first_name,
                c.last_name,
                c.email,
                c.phone,
                c.mailing_address,
                c.customer_number,
            ),
            None => (None, None, None, None, None, None),
        };
        Self {
            id: account.user_id,
            email: c_email.or(b_email).unwrap_or(account.email),
            first_name: c_first.or(b_first).unwrap_or(account.first_name),
            last_name: c_last.or(b_last).unwrap_or(account.last_name),
            phone: c_phone.or(b_phone),
            address: b_address.or(c_address),
            currency,
            customer_number,
            link_status: LinkStatus::Linked,
            pending_update: None,
            unavailable: Vec::new(),
        }
    }
}

/// A validated profile change (`PATCH /me`). Stored as JSON in `profile_updates.changes`, so fields may only
/// be added (with `#[serde(default)]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl ProfileChange {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// This change applied on top of an earlier one still waiting to be applied: fields set here win.
    pub fn over(self, earlier: ProfileChange) -> ProfileChange {
        ProfileChange {
            first_name: self.first_name.or(earlier.first_name),
            last_name: self.last_name.or(earlier.last_name),
            phone: self.phone.or(earlier.phone),
            address: self.address.or(earlier.address),
        }
    }
}

/// Empty or blank text is absent.
pub(super) fn present(value: impl AsRef<str>) -> Option<String> {
    let value = value.as_ref().trim();
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> PortalAccount {
        PortalAccount {
            user_id: Uuid::nil(),
            email: "portal@example.com".into(),
            first_name: "Portal".into(),
            last_name: "Name".into(),
        }
    }

    fn address(city: &str) -> Address {
        Address {
            line1: "1".into(),
            line2: None,
            city: city.into(),
            state: None,
            postcode: "100-0001".into(),
            country: "JP".into(),
        }
    }

    #[test]
    fn salesforce_wins_for_contact_fields_and_whmcs_for_billing_fields() {
        let billing = BillingProfile {
            client_id: 1,
            first_name: Some("Billing".into()),
            last_name: None,
            email: Some("billing@example.com".into()),
            phone: Some("+811111111111".into()),
            address: Some(address("Billing city")),
            currency: Some("JPY".into()),
        };
        let contact = ContactProfile {
            contact_id: "003".into(),
            first_name: Some("Crm".into()),
            last_name: None,
            email: None,
            phone: Some("+812222222222".into()),
            mailing_address: Some(address("Mailing city")),
            customer_number: Some("CN-1".into()),
        };
        let profile = Profile::merge(account(), Some(billing), Some(contact));
        assert_eq!(profile.first_name, "Crm");
        assert_eq!(profile.last_name, "Name");
        assert_eq!(profile.email, "billing@example.com");
        assert_eq!(profile.phone.as_deref(), Some("+812222222222"));
        assert_eq!(
            profile.address.map(|a| a.city).as_deref(),
            Some("Billing city")
        );
        assert_eq!(profile.currency.as_deref(), Some("JPY"));
        assert_eq!(profile.customer_number.as_deref(), Some("CN-1"));
    }

    #[test]
    fn a_system_that_could_not_be_read_leaves_its_fields_to_the_next_source() {
        let contact = ContactProfile {
            contact_id: "003".into(),
            first_name: Some("Crm".into()),
            last_name: None,
            email: None,
            phone: None,
            mailing_address: Some(address("Mailing city")),
            customer_number: Some("CN-1".into()),
        };
        let profile = Profile::merge(account(), None, Some(contact));
        assert_eq!(profile.first_name, "Crm");
        assert_eq!(profile.email, "portal@example.com");
        assert_eq!(
            profile.address.map(|a| a.city).as_deref(),
            Some("Mailing city")
        );
        assert_eq!(profile.currency, None);
        let profile = Profile::merge(account(), None, None);
        assert_eq!(profile.last_name, "Name");
        assert_eq!(profile.customer_number, None);
    }

    #[test]
    fn a_later_change_overrides_an_earlier_one_field_by_field() {
        let earlier = ProfileChange {
            first_name: Some("A".into()),
            phone: Some("+33612345678".into()),
            ..Default::default()
        };
        let later = ProfileChange {
            first_name: Some("B".into()),
            ..Default::default()
        };
        let merged = later.over(earlier);
        assert_eq!(merged.first_name.as_deref(), Some("B"));
        assert_eq!(merged.phone.as_deref(), Some("+33612345678"));
    }

    #[test]
    fn one_failed_system_fails_the_update() {
        use SystemUpdateStatus::*;
        let statuses = |whmcs, salesforce| SystemStatuses { whmcs, salesforce }.overall();
        assert_eq!(statuses(Applied, Applied), UpdateStatus::Applied);
        assert_eq!(statuses(Applied, Retrying), UpdateStatus::Pending);
        assert_eq!(statuses(Failed, Retrying), UpdateStatus::Failed);
    }
}
