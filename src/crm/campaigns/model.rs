//! A campaign as the API shows it, its statuses and the one transition table every change goes through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crm::consent::Purpose;
use crate::crm::messages::MessageChannel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmCampaignStatus)]
pub enum Status {
    Draft,
    Scheduled,
    Sending,
    Completed,
    Paused,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Scheduled,
        Status::Sending,
        Status::Completed,
        Status::Paused,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Sending => "sending",
            Status::Completed => "completed",
            Status::Paused => "paused",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What a marketer (or the jobs) asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Launch,
    /// The freeze job, at `send_at`.
    Freeze,
    /// The delivery job, once no recipient is left to send.
    Complete,
    Pause,
    Resume,
    Cancel,
}

/// The transition table (docs/crm/campaigns.md): the status `action` leads to from `from`, or `None` when
/// the action is not allowed there. `paused_from` is where a paused campaign resumes.
pub fn next(from: Status, action: Action, paused_from: Option<Status>) -> Option<Status> {
    use Action as A;
    use Status as S;
    match (from, action) {
        (S::Draft, A::Launch) => Some(S::Scheduled),
        (S::Scheduled, A::Freeze) => Some(S::Sending),
        (S::Sending, A::Complete) => Some(S::Completed),
        (S::Scheduled | S::Sending, A::Pause) => Some(S::Paused),
        (S::Paused, A::Resume) => paused_from,
        (S::Draft | S::Scheduled | S::Sending | S::Paused, A::Cancel) => Some(S::Cancelled),
        _ => None,
    }
}

/// How many recipients are in each status (only after the freeze).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = CrmCampaignCounts)]
pub struct Counts {
    pub total: i64,
    pub queued: i64,
    /// Quiet hours, or a retry waiting for its back-off.
    pub deferred: i64,
    pub sent: i64,
    pub suppressed: i64,
    pub failed: i64,
    /// Still queued when the campaign was cancelled.
    pub cancelled: i64,
    /// Suppressed recipients by reason (`no_address`, `no_consent`, `consent_denied`, `frequency_cap`, and
    /// `merged`: since a merge the same person as another recipient, who had the message).
    pub suppressed_by_reason: std::collections::BTreeMap<String, i64>,
    /// Failed recipients by reason.
    pub failed_by_reason: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmCampaign)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub segment_id: Uuid,
    pub channel: MessageChannel,
    pub purpose: Purpose,
    pub template_id: Uuid,
    /// Pinned at launch; absent while a draft.
    pub template_version: Option<i32>,
    /// When the audience is frozen and sending starts (at launch when absent).
    pub send_at: Option<DateTime<Utc>>,
    /// Messages per second, shared by every replica.
    pub throttle_per_sec: f64,
    /// Retries of a recipient after its first attempt, for retryable failures (429, 5xx).
    pub retry_limit: i32,
    pub status: Status,
    pub launched_at: Option<DateTime<Utc>>,
    pub frozen_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Live counts per recipient status (read of one campaign only; zero before the freeze).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
}

#[cfg(test)]
mod tests {
    use super::{Action, Status, next};

    #[test]
    fn the_transition_table_allows_only_its_rows() {
        use Action as A;
        use Status as S;
        let allowed = [
            (S::Draft, A::Launch, S::Scheduled),
            (S::Scheduled, A::Freeze, S::Sending),
            (S::Sending, A::Complete, S::Completed),
            (S::Scheduled, A::Pause, S::Paused),
            (S::Sending, A::Pause, S::Paused),
            (S::Draft, A::Cancel, S::Cancelled),
            (S::Scheduled, A::Cancel, S::Cancelled),
            (S::Sending, A::Cancel, S::Cancelled),
            (S::Paused, A::Cancel, S::Cancelled),
        ];
        let actions = [
            A::Launch,
            A::Freeze,
            A::Complete,
            A::Pause,
            A::Resume,
            A::Cancel,
        ];
        for from in Status::ALL {
            for action in actions {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                if from == S::Paused && action == A::Resume {
                    assert_eq!(next(from, action, Some(S::Sending)), Some(S::Sending));
                    assert_eq!(next(from, action, Some(S::Scheduled)), Some(S::Scheduled));
                    continue;
                }
                assert_eq!(next(from, action, None), expected, "{from:?} {action:?}");
            }
        }
        for terminal in [S::Completed, S::Cancelled] {
            assert!(actions.iter().all(|a| next(terminal, *a, None).is_none()));
        }
    }
}
