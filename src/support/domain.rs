//! The support context's own vocabulary: cases and their comments as the portal shows them, whatever system
//! keeps them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a case stands, from the customer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Received, nobody has picked it up yet.
    New,
    /// Support is working on it (or waiting for something).
    InProgress,
    /// Resolved or otherwise closed; no more comments can be added.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Medium, Priority::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// What the case is about; decides which support team picks it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Billing,
    Technical,
    Sim,
    Order,
    Account,
    Other,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Billing,
        Category::Technical,
        Category::Sim,
        Category::Order,
        Category::Account,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Billing => "billing",
            Category::Technical => "technical",
            Category::Sim => "sim",
            Category::Order => "order",
            Category::Account => "account",
            Category::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

/// A case as listed: everything but the description and the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseSummary {
    /// The case's id (a 15- or 18-character Salesforce id).
    #[schema(example = "500SBDEMO000001AAA")]
    pub id: String,
    /// The number support quotes on the phone.
    #[schema(example = "00001001")]
    pub case_number: String,
    pub subject: String,
    pub status: CaseStatus,
    pub priority: Priority,
    pub category: Category,
    pub created_at: DateTime<Utc>,
    /// Set once the case is closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A case with its description (what the customer first wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub summary: CaseSummary,
    pub description: String,
}

/// Who wrote a comment, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentAuthor {
    /// The customer, through the portal.
    Customer,
    /// The support team.
    Support,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseComment {
    pub id: String,
    pub body: String,
    pub author: CommentAuthor,
    pub created_at: DateTime<Utc>,
}

/// A case with its public conversation, oldest comment first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseDetail {
    #[schema(example = "500SBDEMO000001AAA")]
    pub id: String,
    #[schema(example = "00001001")]
    pub case_number: String,
    pub subject: String,
    pub description: String,
    pub status: CaseStatus,
    pub priority: Priority,
    pub category: Category,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub comments: Vec<CaseComment>,
}

impl CaseDetail {
    pub fn new(case: Case, comments: Vec<CaseComment>) -> Self {
        let Case {
            summary,
            description,
        } = case;
        Self {
            id: summary.id,
            case_number: summary.case_number,
            subject: summary.subject,
            description,
            status: summary.status,
            priority: summary.priority,
            category: summary.category,
            created_at: summary.created_at,
            closed_at: summary.closed_at,
            comments,
        }
    }
}

/// A validated new case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub subject: String,
    pub description: String,
    pub category: Category,
    pub priority: Priority,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Every case not closed yet.
    Open,
    Closed,
}
