//! The 360 view on the wire. Every part answers `{"status": "ok", "data": …}` or `{"status": "degraded",
//! "reason": …}`, so the app draws the cards it has and a placeholder for the others; a part the request
//! did not name is absent.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clienteling::appointments::model::Appointment;
use crate::clienteling::client::{ImportantDate, Preferences};
use crate::clienteling::tasks::Task;
use crate::crm::consent::{Channel, ContactReason, Purpose, Status};
use crate::crm::scores::Scores;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Clienteling360PartStatus)]
pub enum PartStatus {
    Ok,
    Degraded,
}

/// Why a part is missing: `timeout` (slower than `part_timeout_ms`), `unavailable` (the provider or the
/// database failed), `rate_limited` (the provider's limit), `rejected` (the provider refused our request or
/// credentials), `malformed` (an answer we could not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Clienteling360DegradedReason)]
pub enum DegradedReason {
    Timeout,
    Unavailable,
    RateLimited,
    Rejected,
    Malformed,
}

impl DegradedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DegradedReason::Timeout => "timeout",
            DegradedReason::Unavailable => "unavailable",
            DegradedReason::RateLimited => "rate_limited",
            DegradedReason::Rejected => "rejected",
            DegradedReason::Malformed => "malformed",
        }
    }
}

/// One part's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome<T> {
    pub status: PartStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DegradedReason>,
}

impl<T> Outcome<T> {
    pub fn ok(data: T) -> Self {
        Self {
            status: PartStatus::Ok,
            data: Some(data),
            reason: None,
        }
    }

    pub fn degraded(reason: DegradedReason) -> Self {
        Self {
            status: PartStatus::Degraded,
            data: None,
            reason: Some(reason),
        }
    }

    pub fn status_str(&self) -> &'static str {
        match self.status {
            PartStatus::Ok => "ok",
            PartStatus::Degraded => "degraded",
        }
    }
}

/// The document's name for each part's [`Outcome`] (utoipa sees these; the handler builds `Outcome`s).
macro_rules! part_schemas {
    ($($name:ident($data:ty) as $schema:ident;)+) => {
        $(
            #[doc = "`data` when `status` is `ok`, `reason` when it is `degraded`."]
            #[derive(ToSchema)]
            #[schema(as = $schema)]
            #[allow(dead_code)]
            pub struct $name {
                pub status: PartStatus,
                pub data: Option<$data>,
                pub reason: Option<DegradedReason>,
            }
        )+
    };
}

part_schemas! {
    HeaderPart(Header) as Clienteling360HeaderPart;
    KpisPart(Kpis) as Clienteling360KpisPart;
    TimelinePart(TimelinePage) as Clienteling360TimelinePart;
    ScoresPart(Scores) as Clienteling360ScoresPart;
    ConsentPart(ConsentData) as Clienteling360ConsentPart;
    SalesforcePart(SalesforceData) as Clienteling360SalesforcePart;
    AppointmentsPart(UpcomingAppointments) as Clienteling360AppointmentsPart;
    TasksPart(OpenTasks) as Clienteling360TasksPart;
}

/// The page: the client's id and the parts asked for.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Clienteling360)]
pub struct View360 {
    pub client_id: Uuid,
    pub generated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HeaderPart>)]
    pub header: Option<Outcome<Header>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<KpisPart>)]
    pub kpis: Option<Outcome<Kpis>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TimelinePart>)]
    pub timeline: Option<Outcome<TimelinePage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ScoresPart>)]
    pub scores: Option<Outcome<Scores>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ConsentPart>)]
    pub consent: Option<Outcome<ConsentData>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SalesforcePart>)]
    pub salesforce: Option<Outcome<SalesforceData>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AppointmentsPart>)]
    pub appointments: Option<Outcome<UpcomingAppointments>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TasksPart>)]
    pub tasks: Option<Outcome<OpenTasks>>,
}

/// An advisor looking after the client.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Advisor)]
pub struct Advisor {
    pub advisor_id: Uuid,
    /// `primary` or `secondary`.
    pub role: String,
    /// `None` when the account is gone.
    pub name: Option<String>,
    pub assigned_at: DateTime<Utc>,
}

/// Who the client is.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Header)]
pub struct Header {
    /// The client's (CRM profile's) id: the survivor's when the id asked for was merged away.
    pub profile_id: Uuid,
    pub store: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub locale: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub preferences: Preferences,
    pub important_dates: Vec<ImportantDate>,
    /// Primary first.
    pub advisors: Vec<Advisor>,
    pub client_since: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360CategoryCount)]
pub struct CategoryCount {
    /// The catalogue's category (`Bags`, `Watches` …).
    pub category: String,
    /// Items bought in it.
    pub quantity: i64,
}

/// The KPI cards.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Kpis)]
pub struct Kpis {
    /// The brand's currency (ISO 4217), which `lifetime_spend` and `average_basket` are in.
    pub currency: String,
    /// The CRM profile's lifetime value, a decimal string.
    #[schema(example = "12450.00")]
    pub lifetime_spend: String,
    /// Purchases recorded (in any currency).
    pub purchases: i64,
    /// The average purchase in the brand's currency.
    pub average_basket: Option<String>,
    pub last_purchase_at: Option<DateTime<Utc>>,
    pub days_since_last_purchase: Option<i64>,
    /// The latest live interaction.
    pub last_contact_at: Option<DateTime<Utc>>,
    pub days_since_last_contact: Option<i64>,
    /// Live interactions with an `occurred_at` in the last 90 days.
    pub interactions_90d: i64,
    /// The catalogue categories of the items bought, most first (at most 3; SKUs not in the catalogue are
    /// not counted).
    pub top_categories: Vec<CategoryCount>,
}

/// One entry of the merged timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360TimelineItem)]
pub struct TimelineItem {
    /// `interaction`, `purchase`, `appointment` or `task`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The interaction's, the purchase activity's or the appointment's id.
    pub id: Uuid,
    /// When it happened: the interaction's `occurred_at`, the purchase's, the appointment's start, the
    /// task's creation or completion.
    pub at: DateTime<Utc>,
    /// An interaction: `channel, context, subject, advisor_id, store`; a purchase: `order_id, amount,
    /// currency, store, skus`; an appointment: `kind, status, store, advisor_id, ends_at, interaction_id`;
    /// a task (one entry when created, another when completed): `event` (`created` or `completed`), `title`,
    /// `status`, `priority`, `due_at`, `assignee_id`, `store`.
    #[schema(value_type = Object)]
    pub details: Value,
}

/// A page of the timeline, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360TimelinePage)]
pub struct TimelinePage {
    pub items: Vec<TimelineItem>,
    /// Pass as `cursor` (with `fields=timeline`) for the next, older page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The consent of one channel and purpose, and what the CRM's rule makes of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Consent)]
pub struct ConsentEntry {
    pub channel: Channel,
    pub purpose: Purpose,
    /// The effective status: an expired consent is `unknown`.
    pub status: Status,
    /// Whether the client may be contacted so (the rule of `crm::may_contact`).
    pub may_contact: bool,
    pub reason: ContactReason,
    pub source: Option<String>,
    pub captured_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360ConsentData)]
pub struct ConsentData {
    /// Every channel × purpose, by channel then purpose.
    pub items: Vec<ConsentEntry>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360SalesforceContact)]
pub struct SalesforceContact {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360SalesforceAccount)]
pub struct SalesforceAccount {
    pub id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub billing_city: Option<String>,
    pub billing_country: Option<String>,
    pub customer_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360SalesforceCase)]
pub struct SalesforceCase {
    pub id: String,
    pub case_number: Option<String>,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub origin: Option<String>,
    pub created_at: Option<String>,
}

/// The client's Salesforce contact, read live.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Salesforce)]
pub struct SalesforceData {
    /// The profile's `salesforce_contact` identifier; `None` when it has none (nothing is asked of
    /// Salesforce then).
    pub contact_id: Option<String>,
    /// Whether Salesforce knows that contact.
    pub found: bool,
    pub contact: Option<SalesforceContact>,
    pub account: Option<SalesforceAccount>,
    /// Not closed, newest first (at most 10).
    pub open_cases: Vec<SalesforceCase>,
}

/// The client's next appointments the caller can see.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Appointments)]
pub struct UpcomingAppointments {
    /// Booked and not started yet, soonest first (at most 10).
    pub items: Vec<Appointment>,
}

/// The client's open tasks the caller can see.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Clienteling360Tasks)]
pub struct OpenTasks {
    /// Assigned to the caller or of a client in a store of their scope, earliest due first (at most 20).
    pub items: Vec<Task>,
}
