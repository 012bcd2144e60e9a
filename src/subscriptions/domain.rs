//! The subscriptions context's types, as the portal shows them: no provider shapes here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::money::Money;

/// A service the customer pays for (a SIM line, an option, a fibre connection…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Subscription {
    /// The subscription (service) id.
    pub id: u64,
    pub product_name: String,
    pub status: SubscriptionStatus,
    pub billing_cycle: BillingCycle,
    /// Absent for one-time and free services.
    pub next_due_date: Option<NaiveDate>,
    pub recurring_amount: Money,
    pub registered_on: Option<NaiveDate>,
    /// The SIM's phone number (MSISDN); present only for SIM services.
    pub phone_number: Option<String>,
}

impl Subscription {
    #[allow(dead_code, reason = "only the mapper's tests ask yet")]
    pub fn is_sim(&self) -> bool {
        self.phone_number.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Pending,
    Active,
    Suspended,
    /// Cancelled by request (or refused as fraudulent).
    Cancelled,
    /// Ended (terminated, or a one-time service completed).
    Terminated,
}

/// How often a service is billed.
// Documented as `ServiceBillingCycle`: the catalog's `BillingCycle` (the cycles a product is sold with) has
// the plain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ServiceBillingCycle)]
pub enum BillingCycle {
    Monthly,
    Quarterly,
    SemiAnnually,
    Annually,
    Biennially,
    Triennially,
    OneTime,
    Free,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<Subscription>,
}

/// A SIM line as the network sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SimLine {
    pub subscription_id: u64,
    pub phone_number: String,
    pub iccid: Option<String>,
    /// Present for an eSIM.
    pub eid: Option<String>,
    pub plan_code: String,
    pub status: SimStatus,
    /// A plan change waiting for its date.
    pub pending_plan_change: Option<PendingPlanChange>,
    pub data: DataUsage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimStatus {
    Active,
    Suspended,
    Cancelled,
    /// An eSIM whose profile is not installed yet.
    Activating,
    /// A status the portal does not know yet.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PendingPlanChange {
    pub plan_code: String,
    pub effective_date: NaiveDate,
}

/// This month's data, in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DataUsage {
    /// `YYYY-MM`.
    pub month: String,
    pub used_mb: u64,
    /// The plan's quota plus this month's top-ups.
    pub quota_mb: u64,
    pub remaining_mb: u64,
    /// Added by top-ups this month.
    pub added_mb: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimAction {
    TopUp,
    PlanChange,
    Suspend,
    Resume,
}

impl SimAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SimAction::TopUp => "top_up",
            SimAction::PlanChange => "plan_change",
            SimAction::Suspend => "suspend",
            SimAction::Resume => "resume",
        }
    }
}

/// The answer to a SIM change: what was done, and its entry in the audit trail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimActionResult {
    /// The audit trail entry (absent in the rare case it could not be written).
    pub action_id: Option<i64>,
    pub subscription_id: u64,
    pub action: SimAction,
    /// The request's parameters (`quota_mb`, `plan_code`, `effective_date`), empty for suspend/resume.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// `applied`: done now; `scheduled`: a plan change that takes effect on its date.
    pub outcome: SimActionOutcome,
    pub recorded_at: DateTime<Utc>,
    /// What the customer was charged for the change (a top-up), on a paid WHMCS invoice.
    pub charged: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimActionOutcome {
    Applied,
    Scheduled,
}
