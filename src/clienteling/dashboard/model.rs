//! The dashboard on the wire.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How many of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ClientelingDashboardCount)]
pub struct Count {
    /// The channel or context.
    pub key: String,
    pub count: i64,
}

/// Purchases by book clients that followed an interaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingDashboardSales)]
pub struct Sales {
    /// Purchases made in the period within 30 days after an interaction with the client (each counted
    /// once, for the advisor of the latest interaction before it).
    pub purchases: i64,
    /// Their sum in the brand's currency, a decimal string (purchases in another currency add nothing).
    #[schema(example = "14580.00")]
    pub amount: String,
}

impl Default for Sales {
    fn default() -> Self {
        Self {
            purchases: 0,
            amount: "0.00".to_owned(),
        }
    }
}

/// The figures of an advisor, or of a manager's stores.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = ClientelingDashboardFigures)]
pub struct Figures {
    /// An advisor's: the clients assigned to them (primary or secondary); stores': the clients of their books.
    pub clients_in_book: i64,
    /// Clients with at least one interaction in the period.
    pub clients_contacted: i64,
    /// Interactions in the period (by `occurred_at`).
    pub interactions: i64,
    /// Most first.
    pub interactions_by_channel: Vec<Count>,
    /// Most first.
    pub interactions_by_context: Vec<Count>,
    /// Outreach messages sent in the period.
    pub outreach_sent: i64,
    /// Outreach held back in the period (a frequency cap).
    pub outreach_suppressed: i64,
    /// Tasks completed in the period.
    pub tasks_done: i64,
    /// Open tasks whose due time has passed.
    pub tasks_overdue: i64,
    /// Booked appointments not started yet.
    pub appointments_upcoming: i64,
    /// Completed appointments that started in the period.
    pub appointments_completed: i64,
    pub sales: Sales,
}

/// One advisor's share of a manager's stores.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingDashboardAdvisor)]
pub struct AdvisorFigures {
    pub advisor_id: Uuid,
    /// `None` when the account is gone.
    pub name: Option<String>,
    pub figures: Figures,
}

/// A big spender not heard from for the longest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingDashboardKeepInTouch)]
pub struct KeepInTouch {
    pub client_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// In the brand's currency, a decimal string.
    pub lifetime_spend: String,
    pub last_purchase_at: Option<DateTime<Utc>>,
    pub days_since_last_purchase: Option<i64>,
    /// `None`: never contacted.
    pub last_contact_at: Option<DateTime<Utc>>,
    pub days_since_last_contact: Option<i64>,
}

/// What the dashboard shows the caller.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingDashboard)]
pub struct Dashboard {
    /// As asked (`30d` by default).
    #[schema(example = "30d")]
    pub period: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `advisor` (the caller's own figures) or `stores` (a manager's or admin's stores).
    pub scope: String,
    /// The stores covered (`scope: stores`); empty with `brand_wide`.
    pub stores: Vec<String>,
    /// Every store of the brand (admins, managers granted the whole brand).
    pub brand_wide: bool,
    /// The brand's currency (ISO 4217).
    pub currency: String,
    pub figures: Figures,
    /// `scope: stores` only: each advisor with figures in the stores, by name.
    pub advisors: Option<Vec<AdvisorFigures>>,
    /// Of the 20 biggest spenders of the book, the 10 whose last contact is oldest (never contacted first).
    pub keep_in_touch: Vec<KeepInTouch>,
}
