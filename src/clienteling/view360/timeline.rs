//! The merged timeline: interactions, purchases, appointments that have started, and tasks' creations and
//! completions (read through the tasks context, in the caller's scope), newest first by `(at, id)`. Each
//! source is read on its own keyset (strictly older than the cursor, `limit + 1` rows), then
//! merged and cut at `limit`: the page is the newest `limit` of them all, and the last item's
//! `(at, id)` is the next cursor, so new entries never shift the pages after the first.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::gate::Gate;
use super::model::{TimelineItem, TimelinePage};
use super::parts::{PageDb, PartError};
use super::repo;
use crate::clienteling::tasks;
use crate::crm::{profile, purchases};

/// Where a page starts: strictly older than this `(at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Position {
    /// Newer than everything: the first page (one query shape for every page).
    pub fn start() -> Position {
        Position {
            at: Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .single()
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            id: Uuid::max(),
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.at.timestamp_micros(), self.id))
    }

    /// `None` for anything this list did not issue.
    pub fn decode(text: &str) -> Option<Position> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('.')?;
        let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        // A time PostgreSQL cannot hold would fail the queries rather than answer a 400.
        if !(1..=9999).contains(&at.year()) {
            return None;
        }
        Some(Position {
            at,
            id: Uuid::parse_str(id).ok()?,
        })
    }

    fn key(&self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.id)
    }
}

pub async fn fetch(
    db: &PageDb<'_>,
    gate: &Gate,
    after: Option<Position>,
    limit: u16,
) -> Result<TimelinePage, PartError> {
    let mut part = db.conn().await?;
    let brand_id = gate.scope.brand_id;
    let before = after.unwrap_or_else(Position::start).key();
    let fetch = i64::from(limit) + 1;
    let mut items: Vec<TimelineItem> = Vec::new();
    for row in
        repo::interactions_before(&mut part.conn, brand_id, &gate.clients(), before, fetch).await?
    {
        items.push(TimelineItem {
            kind: "interaction".into(),
            id: row.id,
            at: row.occurred_at,
            details: json!({
                "channel": row.channel,
                "context": row.context,
                "subject": row.subject,
                "advisor_id": row.advisor_id,
                "store": row.store,
            }),
        });
    }
    if let Some(live) = profile::current_id(&mut part.conn, brand_id, gate.client_id).await? {
        for purchase in purchases::page(&mut part.conn, brand_id, live, before, fetch).await? {
            items.push(TimelineItem {
                kind: "purchase".into(),
                id: purchase.id,
                at: purchase.occurred_at,
                details: json!({
                    "order_id": purchase.order_id,
                    "amount": purchase.amount,
                    "currency": purchase.currency,
                    "store": purchase.store,
                    "skus": purchase.skus,
                }),
            });
        }
    }
    for appointment in
        repo::past_appointments_before(&mut part.conn, &gate.scope, gate.client_id, before, fetch)
            .await?
    {
        items.push(TimelineItem {
            kind: "appointment".into(),
            id: appointment.id,
            at: appointment.starts_at,
            details: json!({
                "kind": appointment.kind,
                "status": appointment.status,
                "store": appointment.store,
                "advisor_id": appointment.advisor_id,
                "ends_at": appointment.ends_at,
                "interaction_id": appointment.interaction_id,
            }),
        });
    }
    for event in
        tasks::events_visible(&mut part.conn, &gate.scope, &gate.clients(), before, fetch).await?
    {
        let task = event.task;
        items.push(TimelineItem {
            kind: "task".into(),
            id: task.id,
            at: event.at,
            details: json!({
                "event": event.event,
                "title": task.title,
                "status": task.status,
                "priority": task.priority,
                "due_at": task.due_at,
                "assignee_id": task.assignee_id,
                "store": task.store,
            }),
        });
    }
    Ok(cut(items, limit))
}

/// The newest `limit` of the merged sources, and the cursor after them when more remain.
fn cut(mut items: Vec<TimelineItem>, limit: u16) -> TimelinePage {
    items.sort_by_key(|item| std::cmp::Reverse((item.at, item.id)));
    let more = items.len() > usize::from(limit);
    items.truncate(usize::from(limit));
    let next_cursor = if more {
        items.last().map(|last| {
            Position {
                at: last.at,
                id: last.id,
            }
            .encode()
        })
    } else {
        None
    };
    TimelinePage { items, next_cursor }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn item(kind: &str, micros: i64) -> TimelineItem {
        TimelineItem {
            kind: kind.into(),
            id: Uuid::now_v7(),
            at: DateTime::<Utc>::from_timestamp_micros(micros).unwrap(),
            details: json!({}),
        }
    }

    #[test]
    fn the_sources_merge_newest_first_and_the_cursor_is_the_last_shown() {
        let items = vec![
            item("interaction", 3),
            item("purchase", 5),
            item("appointment", 4),
            item("interaction", 1),
        ];
        let page = cut(items, 3);
        let kinds: Vec<&str> = page.items.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["purchase", "appointment", "interaction"]);
        let cursor = Position::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(cursor.at, page.items[2].at);
        assert!(cut(vec![item("purchase", 1)], 3).next_cursor.is_none());
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let position = Position {
            at: DateTime::<Utc>::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Position::decode(&position.encode()), Some(position));
        assert_eq!(Position::decode("not a cursor"), None);
        let far = URL_SAFE_NO_PAD.encode(format!("{}.{}", i64::MAX / 2, Uuid::nil()));
        assert_eq!(Position::decode(&far), None);
    }
}
