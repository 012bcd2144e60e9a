//! Orders as the API shows them and as the portal sends them: provider-agnostic types, and the checks on a
//! new order's shape (the catalog and the customer are checked in `create`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::OrderError;
use crate::catalog::BillingCycle;
use crate::errors::{FieldError, field_errors, rule};
use crate::money::Money;
use crate::types::Sku;

pub const MAX_ITEMS: u64 = 20;
pub const MAX_QUANTITY: i64 = 10;
pub const EID_DIGITS: usize = 32;

/// Where an order is on its way from the portal to a working service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created in the CRM, waiting for an agent's approval.
    PendingReview,
    /// Approved; provisioning is queued.
    Approved,
    /// The services are being set up.
    Provisioning,
    /// Everything is set up.
    Active,
    /// Provisioning gave up; `failure_reason` says why and support has a case.
    Failed,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingReview => "pending_review",
            OrderStatus::Approved => "approved",
            OrderStatus::Provisioning => "provisioning",
            OrderStatus::Active => "active",
            OrderStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            OrderStatus::PendingReview,
            OrderStatus::Approved,
            OrderStatus::Provisioning,
            OrderStatus::Active,
            OrderStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }

    /// No change follows a final status.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Active | OrderStatus::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationType {
    Immediate,
    Scheduled,
}

/// When the service should start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activation {
    #[serde(rename = "type")]
    pub kind: ActivationType,
    /// Required for `scheduled` (in the future), refused for `immediate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimType {
    Physical,
    Esim,
}

/// The SIM for SIM products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimChoice {
    #[serde(rename = "type")]
    pub kind: SimType,
    /// The device's EID (32 digits): required for `esim`, refused for `physical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{32}$")]
    pub eid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RequestedItem {
    /// A catalog sku.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    #[validate(custom(function = "sku"))]
    pub sku: String,
    /// 1–10.
    #[schema(minimum = 1, maximum = 10)]
    #[validate(range(
        min = 1,
        max = MAX_QUANTITY,
        code = "out_of_range",
        message = "Use a quantity from 1 to 10."
    ))]
    pub quantity: i64,
}

fn sku(value: &str) -> Result<(), ValidationError> {
    if Sku::is_valid(value) {
        Ok(())
    } else {
        Err(rule(
            "invalid",
            "A sku is 1–64 letters, digits, '.', '-' or '_'.",
        ))
    }
}

/// `POST /api/v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// 1–20 lines.
    #[schema(min_items = 1, max_items = 20)]
    #[validate(
        length(
            min = 1,
            max = MAX_ITEMS,
            code = "out_of_range",
            message = "Order 1 to 20 items."
        ),
        nested
    )]
    pub items: Vec<RequestedItem>,
    #[serde(default)]
    pub activation: Option<Activation>,
    #[serde(default)]
    pub sim: Option<SimChoice>,
}

impl CreateOrderRequest {
    /// The checks that need neither the catalog nor the customer: the derived field rules (a list of the
    /// wrong length is reported as such, without checking its items), then the rules that cross fields
    /// (activation type and date, SIM type and EID), which are hand-written.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), OrderError> {
        let mut errors = field_errors([self.validate()]);
        if let Some(activation) = &self.activation {
            match (activation.kind, activation.scheduled_at) {
                (ActivationType::Scheduled, None) => errors.push(FieldError::new(
                    "activation/scheduled_at",
                    "required",
                    "A scheduled activation needs scheduled_at.",
                )),
                (ActivationType::Scheduled, Some(at)) if at <= now => errors.push(FieldError::new(
                    "activation/scheduled_at",
                    "in_the_past",
                    "Schedule the activation in the future.",
                )),
                (ActivationType::Scheduled, Some(at)) if at > now + chrono::Duration::days(365) => {
                    errors.push(FieldError::new(
                        "activation/scheduled_at",
                        "out_of_range",
                        "Schedule the activation within a year.",
                    ))
                }
                (ActivationType::Immediate, Some(_)) => errors.push(FieldError::new(
                    "activation/scheduled_at",
                    "not_allowed",
                    "An immediate activation has no scheduled_at.",
                )),
                _ => {}
            }
        }
        if let Some(sim) = &self.sim {
            match (sim.kind, sim.eid.as_deref()) {
                (SimType::Esim, None) => errors.push(FieldError::new(
                    "sim/eid",
                    "required",
                    "An eSIM needs the device's EID.",
                )),
                (SimType::Esim, Some(eid))
                    if eid.len() != EID_DIGITS || !eid.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    errors.push(FieldError::new(
                        "sim/eid",
                        "invalid",
                        "An EID is exactly 32 digits.",
                    ))
                }
                (SimType::Physical, Some(_)) => errors.push(FieldError::new(
                    "sim/eid",
                    "not_allowed",
                    "A physical SIM has no EID.",
                )),
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(OrderError::Invalid(errors))
        }
    }
}

/// One line of an order as stored (PostgreSQL `orders.items`): what provisioning needs, fixed at order time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_hundredths: i64,
    pub currency: String,
    pub billing_cycle: BillingCycle,
    pub whmcs_product_id: i64,
    /// The mobile network's plan code for SIM products.
    #[serde(default)]
    pub sim_plan_code: Option<String>,
    /// The CRM's order line.
    #[serde(default)]
    pub salesforce_item_id: Option<String>,
    /// The billing system's services for this line, once provisioned.
    #[serde(default)]
    pub service_ids: Vec<i64>,
}

/// One line of an order as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub billing_cycle: BillingCycle,
    /// The services created for this line (empty until provisioned).
    pub service_ids: Vec<i64>,
}

impl From<&StoredItem> for OrderItem {
    fn from(item: &StoredItem) -> Self {
        OrderItem {
            sku: item.sku.clone(),
            name: item.name.clone(),
            quantity: item.quantity,
            unit_price: Money::from_hundredths(item.unit_price_hundredths, &item.currency),
            billing_cycle: item.billing_cycle,
            service_ids: item.service_ids.clone(),
        }
    }
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub status: OrderStatus,
    /// Why provisioning failed (`failed` only).
    pub failure_reason: Option<String>,
    pub items: Vec<OrderItem>,
    pub activation: Option<Activation>,
    pub sim: Option<SimChoice>,
    /// The provisioned services (subscriptions), once active.
    pub service_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of orders, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// A status change of an order (the SSE stream sends these as `status` events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderEvent {
    pub sequence: i64,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> CreateOrderRequest {
        serde_json::from_value(json).expect("request")
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            "pending_review",
            "approved",
            "provisioning",
            "active",
            "failed",
        ] {
            assert_eq!(
                OrderStatus::parse(status).map(OrderStatus::as_str),
                Some(status)
            );
        }
        assert!(OrderStatus::parse("done").is_none());
    }

    #[test]
    fn an_esim_needs_a_32_digit_eid() {
        let now = Utc::now();
        let ok = request(serde_json::json!({
            "items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}],
            "sim": {"type": "esim", "eid": "1".repeat(32)}
        }));
        assert!(ok.check(now).is_ok());
        let missing = request(serde_json::json!({
            "items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}],
            "sim": {"type": "esim"}
        }));
        assert!(missing.check(now).is_err());
        let short = request(serde_json::json!({
            "items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}],
            "sim": {"type": "esim", "eid": "123"}
        }));
        assert!(short.check(now).is_err());
    }

    #[test]
    fn quantities_and_item_counts_are_bounded() {
        let now = Utc::now();
        assert!(
            request(serde_json::json!({"items": []}))
                .check(now)
                .is_err()
        );
        assert!(
            request(serde_json::json!({"items": [{"sku": "A", "quantity": 11}]}))
                .check(now)
                .is_err()
        );
        assert!(
            request(serde_json::json!({"items": [{"sku": "A", "quantity": 10}]}))
                .check(now)
                .is_ok()
        );
    }
}
