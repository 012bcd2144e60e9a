//! What an appointment is on the wire, and the requests that change one.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const KINDS: [&str; 3] = ["in_store", "virtual", "phone"];
pub const BOOKED: &str = "booked";
pub const CANCELLED: &str = "cancelled";
pub const COMPLETED: &str = "completed";

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingAppointment)]
pub struct Appointment {
    pub id: Uuid,
    /// The client (CRM profile id).
    pub client_id: Uuid,
    pub advisor_id: Uuid,
    pub store: String,
    /// `in_store`, `virtual` or `phone`.
    pub kind: String,
    /// `booked`, `cancelled` or `completed`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: String,
    /// Also the `ETag`; a reschedule names it in `If-Match`.
    pub version: i32,
    /// The `appointment` interaction its completion logged.
    pub interaction_id: Option<Uuid>,
    pub booked_by: Uuid,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Appointment {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingBookAppointment)]
pub struct BookAppointment {
    /// A client of the brand in the caller's book.
    pub client_id: Uuid,
    /// Default: the caller. A manager may book for an advisor of the store.
    #[serde(default)]
    pub advisor_id: Option<Uuid>,
    /// A store of the brand in the caller's scope, where the advisor works.
    pub store: String,
    /// In the future, at most a year ahead.
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`; 5 minutes to 8 hours later.
    pub ends_at: DateTime<Utc>,
    /// `in_store` (within the store's opening hours), `virtual` or `phone`.
    pub kind: String,
    /// Up to 2,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingRescheduleAppointment)]
pub struct Reschedule {
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Another advisor of the store (managers only).
    #[serde(default)]
    pub advisor_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingCancelAppointment)]
pub struct Cancel {
    /// Up to 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingCompleteAppointment)]
pub struct Complete {
    /// The note of the `appointment` interaction, up to 4,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingAppointmentPage)]
pub struct AppointmentPage {
    pub items: Vec<Appointment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingFreeSlot)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The same instants as the store's wall-clock time (no offset), in `timezone`.
    #[schema(value_type = String, example = "2027-03-28T10:00:00")]
    pub local_starts_at: NaiveDateTime,
    #[schema(value_type = String, example = "2027-03-28T19:00:00")]
    pub local_ends_at: NaiveDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingAvailability)]
pub struct Availability {
    pub advisor_id: Uuid,
    pub store: String,
    pub timezone: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Free intervals, earliest first: opening hours minus the advisor's booked and completed appointments
    /// (and minus the past).
    pub slots: Vec<Slot>,
}
