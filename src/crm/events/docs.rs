//! The event schemas as the OpenAPI document shows them. The rules themselves are in `schema`; these types
//! only describe them (known types refuse properties not listed here; custom types take any object).
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::ToSchema;

use crate::crm::identifiers::IdentifierInput;
use crate::crm::profile::Attributes;

/// One event. `type` is a known type (its `properties` are then checked against its schema:
/// `CrmPurchaseProperties`, `CrmBookingProperties`, …) or a custom type with any JSON object of at most
/// 8 KiB as `properties`. Counters follow every accepted event: `activity_counts` by type, first and last
/// activity, and the lifetime value, which adds purchases in the brand's currency (purchases in another
/// currency are recorded but not added).
#[derive(ToSchema)]
#[schema(as = CrmEvent)]
pub struct Event {
    /// Your id for the event, 1–128 characters: the brand's events are de-duplicated on it.
    #[schema(min_length = 1, max_length = 128, example = "order-10042-paid")]
    pub id: String,
    /// `purchase`, `booking`, `event_attended`, `email_opened`, `email_clicked`, `page_view`,
    /// `support_case_opened`, `order_provisioned`, `invoice_paid`, or a custom type.
    #[schema(pattern = "^[a-z][a-z0-9_]{1,63}$", example = "purchase")]
    #[schema(rename = "type")]
    pub kind: String,
    /// RFC 3339; from 2000-01-01 to one day after now.
    pub occurred_at: DateTime<Utc>,
    /// 1–20 identifiers of the person; they resolve to (or create) the profile.
    #[schema(min_items = 1, max_items = 20)]
    pub identifiers: Vec<IdentifierInput>,
    /// Built-in attributes to set on the profile (unknown names are refused), as of `occurred_at`.
    pub traits: Option<Attributes>,
    /// The type's properties; `{}` when absent.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

/// A decimal ≥ 0 with at most 14 digits before the point and 4 after: a string (`"129.90"`) or a number.
#[derive(ToSchema)]
#[schema(as = CrmAmount, value_type = String, example = "129.90")]
pub struct Amount(String);

/// An item of a purchase.
#[derive(ToSchema)]
#[schema(as = CrmPurchaseItem)]
pub struct PurchaseItem {
    #[schema(min_length = 1, max_length = 128)]
    pub sku: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: u32,
    pub price: Amount,
}

/// `purchase`. Adds `amount` to the lifetime value when `currency` is the brand's.
#[derive(ToSchema)]
#[schema(as = CrmPurchaseProperties)]
pub struct Purchase {
    #[schema(min_length = 1, max_length = 128)]
    pub order_id: String,
    pub amount: Amount,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// The store's code.
    #[schema(min_length = 1, max_length = 128)]
    pub store: Option<String>,
    #[schema(max_items = 500)]
    pub items: Option<Vec<PurchaseItem>>,
}

/// `booking`: an appointment.
#[derive(ToSchema)]
#[schema(as = CrmBookingProperties)]
pub struct Booking {
    #[schema(min_length = 1, max_length = 128)]
    pub booking_id: String,
    pub starts_at: DateTime<Utc>,
    #[schema(min_length = 1, max_length = 128)]
    pub store: Option<String>,
    #[schema(max_length = 200)]
    pub service: Option<String>,
    /// `booked`, `cancelled`, `completed` or `no_show`.
    pub status: Option<String>,
}

/// `event_attended`.
#[derive(ToSchema)]
#[schema(as = CrmEventAttendedProperties)]
pub struct EventAttended {
    #[schema(min_length = 1, max_length = 128)]
    pub event_id: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub store: Option<String>,
}

/// `email_opened`.
#[derive(ToSchema)]
#[schema(as = CrmEmailOpenedProperties)]
pub struct EmailOpened {
    #[schema(min_length = 1, max_length = 128)]
    pub campaign_id: String,
    #[schema(min_length = 1, max_length = 128)]
    pub message_id: Option<String>,
}

/// `email_clicked`.
#[derive(ToSchema)]
#[schema(as = CrmEmailClickedProperties)]
pub struct EmailClicked {
    #[schema(min_length = 1, max_length = 128)]
    pub campaign_id: String,
    /// An absolute http(s) URL, at most 2,048 characters.
    #[schema(max_length = 2048)]
    pub url: String,
    #[schema(min_length = 1, max_length = 128)]
    pub message_id: Option<String>,
}

/// `page_view`.
#[derive(ToSchema)]
#[schema(as = CrmPageViewProperties)]
pub struct PageView {
    /// An absolute http(s) URL, at most 2,048 characters.
    #[schema(max_length = 2048)]
    pub url: String,
    #[schema(max_length = 300)]
    pub title: Option<String>,
    #[schema(max_length = 2048)]
    pub referrer: Option<String>,
}

/// `support_case_opened`.
#[derive(ToSchema)]
#[schema(as = CrmSupportCaseOpenedProperties)]
pub struct SupportCaseOpened {
    #[schema(min_length = 1, max_length = 128)]
    pub case_id: String,
    #[schema(max_length = 255)]
    pub subject: Option<String>,
    /// `email`, `phone`, `chat`, `web` or `store`.
    pub channel: Option<String>,
}

/// `order_provisioned` (the portal sends these itself).
#[derive(ToSchema)]
#[schema(as = CrmOrderProvisionedProperties)]
pub struct OrderProvisioned {
    #[schema(min_length = 1, max_length = 128)]
    pub order_id: String,
    #[schema(max_items = 100)]
    pub service_ids: Option<Vec<u64>>,
}

/// `invoice_paid` (the portal sends these itself; the amount is absent when the billing system's answer
/// after the capture could not be read). Not added to the lifetime value, which counts purchases.
#[derive(ToSchema)]
#[schema(as = CrmInvoicePaidProperties)]
pub struct InvoicePaid {
    /// A positive whole number (or its digits).
    pub invoice_id: u64,
    pub amount: Option<Amount>,
    #[schema(example = "JPY")]
    pub currency: Option<String>,
}
