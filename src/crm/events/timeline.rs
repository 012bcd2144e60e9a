//! A profile's timeline: its activities newest first (`occurred_at DESC, id DESC`, the order of
//! `crm_activities_timeline_idx`), paged by an opaque keyset cursor, so a page is one index range scan and
//! events arriving meanwhile never shift the pages already read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmActivity)]
pub struct Activity {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "purchase")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub properties: Value,
    /// The sender's event id.
    pub event_id: Option<String>,
    /// Where it came from: `api`, `portal` …
    pub source: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmActivityPage)]
pub struct ActivityPage {
    /// The profile whose timeline this is: the survivor when the id asked for was merged away.
    pub profile_id: Uuid,
    pub items: Vec<Activity>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page starts: strictly after (older than) this activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Position {
    /// Before every activity: the first page.
    fn start() -> Position {
        Position {
            occurred_at: Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .single()
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            id: Uuid::max(),
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}.{}",
            self.occurred_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(text: &str) -> Option<Position> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('.')?;
        let occurred_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        // A time PostgreSQL cannot hold would fail the query (a 500) rather than answer a 400.
        if !(1..=9999).contains(&occurred_at.year()) {
            return None;
        }
        Some(Position {
            occurred_at,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// One page of the profile's activities (the profile's id already resolved in the brand), `limit + 1`
/// fetched to know whether another page follows.
pub async fn page(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    types: &[String],
    after: Option<Position>,
    limit: u16,
) -> Result<(Vec<Activity>, Option<String>), sqlx::Error> {
    // The far-future start keeps one query shape, so the keyset condition is always an index bound.
    let after = after.unwrap_or_else(Position::start);
    let mut rows = sqlx::query_as!(
        Activity,
        r#"SELECT id, type AS kind, occurred_at, properties, event_id, source, received_at
           FROM crm_activities
           WHERE brand_id = $1 AND profile_id = $2 AND (occurred_at, id) < ($3, $4)
             AND (cardinality($5::text[]) = 0 OR type = ANY($5))
           ORDER BY occurred_at DESC, id DESC
           LIMIT $6"#,
        brand_id,
        profile_id,
        after.occurred_at,
        after.id,
        types,
        i64::from(limit) + 1
    )
    .fetch_all(conn)
    .await?;
    let more = rows.len() > usize::from(limit);
    rows.truncate(usize::from(limit));
    let next = if more {
        rows.last().map(|last| {
            Position {
                occurred_at: last.occurred_at,
                id: last.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let position = Position {
            occurred_at: DateTime::<Utc>::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Position::decode(&position.encode()), Some(position));
        assert_eq!(Position::decode("not a cursor"), None);
        assert_eq!(
            Position::decode(&URL_SAFE_NO_PAD.encode("99999999999999999.x")),
            None
        );
        let far = URL_SAFE_NO_PAD.encode(format!("{}.{}", i64::MAX / 2, Uuid::nil()));
        assert_eq!(Position::decode(&far), None);
    }
}
