//! What a task is on the wire, and the requests that make and change one.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const OPEN: &str = "open";
pub const DONE: &str = "done";
pub const CANCELLED: &str = "cancelled";
pub const PRIORITIES: [&str; 3] = ["low", "normal", "high"];
pub const SOURCES: [&str; 3] = ["manual", "journey", "system"];

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingTask)]
pub struct Task {
    pub id: Uuid,
    /// The client (CRM profile id).
    pub client_id: Uuid,
    /// The store whose book holds the client.
    pub store: String,
    pub assignee_id: Uuid,
    pub title: String,
    pub notes: String,
    pub due_at: DateTime<Utc>,
    /// `low`, `normal` or `high`.
    pub priority: String,
    /// `manual`, `journey` or `system`.
    pub source: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    /// The person who made it (none for a journey's).
    pub created_by: Option<Uuid>,
    /// When the reminder job found it due and notified the assignee.
    pub reminded_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingCreateTask)]
pub struct CreateTask {
    /// A client in the caller's book.
    pub client_id: Uuid,
    /// Default: the caller. A manager may give it to an advisor or manager of the brand in their scope.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// 1–200 characters.
    pub title: String,
    /// Up to 4,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// At most 30 days ago, at most 2 years ahead.
    pub due_at: DateTime<Utc>,
    /// `low`, `normal` (default) or `high`.
    #[serde(default)]
    pub priority: Option<String>,
    /// `manual` (default) or `system`; `journey` is set by journeys' `create_advisor_task` only.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingReassignTask)]
pub struct ReassignTask {
    /// A client advisor or manager of the brand working in a store of the manager's scope.
    pub assignee_id: Uuid,
}

/// The assignee's open tasks, grouped by the local day of their due time in the assignee's store's zone.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingMyTasks)]
pub struct GroupedTasks {
    pub assignee_id: Uuid,
    /// The IANA zone the days are counted in: the assignee's first store's, else the brand's.
    pub timezone: String,
    /// Today in that zone.
    #[schema(value_type = String, format = Date)]
    pub today: NaiveDate,
    /// Due on an earlier local day, earliest first.
    pub overdue: Vec<Task>,
    /// Due today (local), earliest first — also when the hour has passed.
    pub due_today: Vec<Task>,
    /// Due on a later local day, earliest first.
    pub upcoming: Vec<Task>,
    /// More open tasks than the list holds (the earliest 500 are shown).
    pub truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingTaskPage)]
pub struct TaskPage {
    pub items: Vec<Task>,
    pub next_cursor: Option<String>,
}
