//! An event as the API shows and takes it, its statuses and the transitions between them.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::errors::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BrandEventStatus)]
pub enum Status {
    /// Being prepared: marketers only; no invitations.
    Draft,
    /// Published: guests are invited and answer until the RSVP deadline.
    Open,
    /// RSVPs closed (guests are still checked in); may open again.
    Closed,
    /// Called off, for good.
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Draft,
            Status::Open,
            Status::Closed,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    Close,
    Cancel,
}

/// The transition table: draft → open ⇄ closed, and any of them → cancelled (final).
pub fn next(from: Status, action: Action) -> Option<Status> {
    match (from, action) {
        (Status::Draft | Status::Closed, Action::Open) => Some(Status::Open),
        (Status::Open, Action::Close) => Some(Status::Closed),
        (Status::Draft | Status::Open | Status::Closed, Action::Cancel) => Some(Status::Cancelled),
        _ => None,
    }
}

/// The guests per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = BrandEventCounts)]
pub struct Counts {
    pub invited: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub declined: i64,
    pub attended: i64,
}

impl Counts {
    /// Places taken: confirmed guests and those already checked in.
    pub fn taken(&self) -> i64 {
        self.confirmed + self.attended
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEvent)]
pub struct Event {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// One of the brand's stores (its code).
    pub store: Option<String>,
    /// Where, in words (a venue, or a store's salon).
    pub venue: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Places; `null`: no limit.
    pub capacity: Option<i32>,
    /// RSVPs close then; `null`: when the event starts.
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub status: Status,
    /// The `events` template telling a waitlisted guest a place opened.
    pub promotion_template_id: Option<Uuid>,
    pub counts: Counts,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventList)]
pub struct EventList {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

/// An event as created or replaced (`PUT` takes the whole of it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BrandEventRequest)]
pub struct EventRequest {
    /// 1–200 characters.
    pub name: String,
    /// At most 4,000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// A store code of the brand; `store` or `venue` (or both).
    #[serde(default)]
    pub store: Option<String>,
    /// 1–300 characters.
    #[serde(default)]
    pub venue: Option<String>,
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, and in the future.
    pub ends_at: DateTime<Utc>,
    /// 1–100,000 places; absent: no limit.
    #[serde(default)]
    pub capacity: Option<i32>,
    /// At most `ends_at`; absent: RSVPs close when the event starts.
    #[serde(default)]
    pub rsvp_deadline: Option<DateTime<Utc>>,
    /// A template of the brand with purpose `events`, sent to a guest promoted from the waitlist.
    #[serde(default)]
    pub promotion_template_id: Option<Uuid>,
}

/// A time the database and every calendar handle: years 2000–2100.
fn plausible(at: DateTime<Utc>) -> bool {
    (2000..=2100).contains(&at.year())
}

fn check_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(str::trim)?;
    let control = value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    if value.is_empty() || value.chars().count() > max || control {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1–{max} characters, without control characters."),
        ));
        return None;
    }
    Some(value.to_owned())
}

/// The request's field errors that need no database (the store and the template are checked by the caller).
pub struct Checked {
    pub name: String,
    pub description: String,
    pub store: Option<String>,
    pub venue: Option<String>,
}

impl EventRequest {
    pub fn check(&self, now: DateTime<Utc>, errors: &mut Vec<FieldError>) -> Checked {
        let name = check_text("name", Some(&self.name), 200, errors).unwrap_or_default();
        let description = match self.description.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(_) => check_text("description", self.description.as_deref(), 4000, errors)
                .unwrap_or_default(),
        };
        let venue = check_text("venue", self.venue.as_deref(), 300, errors);
        let store = self.store.as_deref().map(str::trim).map(str::to_owned);
        if store.is_none() && self.venue.is_none() {
            errors.push(FieldError::new(
                "venue",
                "required",
                "A store of the brand, a venue, or both.",
            ));
        }
        for (field, at) in [
            ("starts_at", Some(self.starts_at)),
            ("ends_at", Some(self.ends_at)),
            ("rsvp_deadline", self.rsvp_deadline),
        ] {
            if at.is_some_and(|at| !plausible(at)) {
                errors.push(FieldError::new(
                    field,
                    "out_of_range",
                    "A time in the years 2000–2100.",
                ));
            }
        }
        if self.ends_at <= self.starts_at {
            errors.push(FieldError::new(
                "ends_at",
                "before_start",
                "After starts_at.",
            ));
        } else if self.ends_at <= now {
            errors.push(FieldError::new("ends_at", "past", "In the future."));
        }
        if self
            .rsvp_deadline
            .is_some_and(|deadline| deadline > self.ends_at)
        {
            errors.push(FieldError::new(
                "rsvp_deadline",
                "after_end",
                "At most ends_at.",
            ));
        }
        if self
            .capacity
            .is_some_and(|capacity| !(1..=100_000).contains(&capacity))
        {
            errors.push(FieldError::new(
                "capacity",
                "out_of_range",
                "1–100,000 places, or absent for no limit.",
            ));
        }
        Checked {
            name,
            description,
            store,
            venue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_is_final_and_a_draft_is_never_closed() {
        assert_eq!(next(Status::Draft, Action::Open), Some(Status::Open));
        assert_eq!(next(Status::Closed, Action::Open), Some(Status::Open));
        assert_eq!(next(Status::Open, Action::Close), Some(Status::Closed));
        assert_eq!(next(Status::Draft, Action::Close), None);
        assert_eq!(next(Status::Open, Action::Open), None);
        for action in [Action::Open, Action::Close, Action::Cancel] {
            assert_eq!(next(Status::Cancelled, action), None);
        }
        for from in [Status::Draft, Status::Open, Status::Closed] {
            assert_eq!(next(from, Action::Cancel), Some(Status::Cancelled));
        }
    }
}
