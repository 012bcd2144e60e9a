//! Consent: per profile, channel and purpose, `granted`, `denied` or `unknown` (no row), with who captured
//! it, when, and until when. [`may_contact`] is the one answer to "may this profile be contacted on this
//! channel for this purpose" that campaigns, journeys and clienteling outreach all ask.
//!
//! The rule of [`may_contact`], per purpose (an expired consent counts as `unknown`):
//! - `marketing`, `outreach` (1:1 by a client advisor) and `events`: only when `granted`; unknown means no.
//! - `service` (order updates, appointments, the case the customer opened): allowed unless `denied`.
//!
//! A write older than the consent it would replace (`captured_at` before the current row's) is refused with
//! `consent-stale` rather than applied or silently dropped: the latest capture is the truth (as Segment and
//! OneTrust keep it), and the sender learns that its news is old.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Acquire, PgConnection, Postgres};
use utoipa::ToSchema;
use uuid::Uuid;

use super::profile;

macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal,)+ }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        $(#[$meta])*
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

names! {
    /// A way of reaching someone.
    #[schema(as = CrmChannel)]
    Channel {
        Email => "email",
        Sms => "sms",
        Whatsapp => "whatsapp",
        Wechat => "wechat",
        Line => "line",
        Lineworks => "lineworks",
        Kakao => "kakao",
        Postal => "postal",
        Phone => "phone",
        Push => "push",
    }
}

names! {
    /// Why someone is contacted: `outreach` is 1:1 by a client advisor, `service` is about something the
    /// customer has going on (an order, an appointment, a case).
    #[schema(as = CrmPurpose)]
    Purpose {
        Marketing => "marketing",
        Outreach => "outreach",
        Service => "service",
        Events => "events",
    }
}

names! {
    /// `unknown` is the absence of a (current) consent.
    #[schema(as = CrmConsentStatus)]
    Status {
        Granted => "granted",
        Denied => "denied",
        Unknown => "unknown",
    }
}

/// A recorded consent, as stored (`crm_consents`), before expiry is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub status: Status,
    pub source: String,
    pub actor: Option<String>,
    pub captured_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Record {
    /// The status at `now`: an expired consent is `unknown`.
    pub fn effective(&self, now: DateTime<Utc>) -> Status {
        match self.expires_at {
            Some(expires_at) if expires_at <= now => Status::Unknown,
            _ => self.status,
        }
    }
}

/// The status of an optional record at `now` (no record: `unknown`).
pub fn effective(record: Option<&Record>, now: DateTime<Utc>) -> Status {
    record.map_or(Status::Unknown, |record| record.effective(now))
}

/// The more restrictive of two statuses: `denied` over anything, then `unknown` over `granted`
/// (`granted` only when both are).
pub fn most_restrictive(a: Status, b: Status) -> Status {
    match (a, b) {
        (Status::Denied, _) | (_, Status::Denied) => Status::Denied,
        (Status::Granted, Status::Granted) => Status::Granted,
        _ => Status::Unknown,
    }
}

/// Which of two profiles' records for one channel and purpose a merge keeps: a current `denied` beats a
/// `granted`; a missing or expired record carries no decision, so the other side's record stands (merging a
/// fresh profile that never stated anything does not erase a grant); between equal statuses the later
/// capture. `None`: neither side has a current decision.
pub fn merge_records<'a>(
    a: Option<&'a Record>,
    b: Option<&'a Record>,
    now: DateTime<Utc>,
) -> Option<&'a Record> {
    let live = |record: Option<&'a Record>| record.filter(|r| r.effective(now) != Status::Unknown);
    match (live(a), live(b)) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one),
        (Some(a), Some(b)) if a.status != b.status => {
            Some(if a.status == Status::Denied { a } else { b })
        }
        (Some(a), Some(b)) => Some(if b.captured_at > a.captured_at { b } else { a }),
    }
}

/// Why [`may_contact`] answered as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmContactReason)]
pub enum ContactReason {
    /// A current `granted`.
    Granted,
    /// A current `denied`.
    Denied,
    /// No current consent, and the purpose needs one (marketing, outreach, events).
    NoConsent,
    /// No current consent, and service messages need none.
    ServiceDefault,
    /// No profile of the brand has this id.
    UnknownProfile,
}

/// The answer of [`may_contact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = CrmContactDecision)]
pub struct ContactDecision {
    pub allowed: bool,
    /// The effective status the decision rests on.
    pub status: Status,
    pub reason: ContactReason,
    /// The profile asked about, after following merges (`None` for an unknown profile).
    pub profile_id: Option<Uuid>,
}

/// The rule, as a pure function of the effective status (see the module's documentation).
pub fn decide(status: Status, purpose: Purpose) -> (bool, ContactReason) {
    match (status, purpose) {
        (Status::Granted, _) => (true, ContactReason::Granted),
        (Status::Denied, _) => (false, ContactReason::Denied),
        (Status::Unknown, Purpose::Service) => (true, ContactReason::ServiceDefault),
        (Status::Unknown, _) => (false, ContactReason::NoConsent),
    }
}

/// May `profile_id` of the brand be contacted on `channel` for `purpose`, now? Follows merges (an absorbed
/// profile's id answers for its survivor). Takes a pool, a connection or a transaction.
pub async fn may_contact<'c, A>(
    conn: A,
    brand_id: Uuid,
    profile_id: Uuid,
    channel: Channel,
    purpose: Purpose,
) -> Result<ContactDecision, sqlx::Error>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await?;
    may_contact_on(&mut conn, brand_id, profile_id, channel, purpose).await
}

/// [`may_contact`] on a connection or a transaction (`&mut tx`). Not generic, so a caller's future stays
/// provably `Send` (rustc cannot see through `Acquire<'c>` inside a job's future: campaigns' delivery).
pub async fn may_contact_on(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    channel: Channel,
    purpose: Purpose,
) -> Result<ContactDecision, sqlx::Error> {
    let Some(current) = profile::current_id(&mut *conn, brand_id, profile_id).await? else {
        return Ok(ContactDecision {
            allowed: false,
            status: Status::Unknown,
            reason: ContactReason::UnknownProfile,
            profile_id: None,
        });
    };
    let record = current_record(conn, brand_id, current, channel, purpose).await?;
    let status = effective(record.as_ref(), Utc::now());
    let (allowed, reason) = decide(status, purpose);
    Ok(ContactDecision {
        allowed,
        status,
        reason,
        profile_id: Some(current),
    })
}

fn record_of(
    status: &str,
    source: String,
    actor: Option<String>,
    captured_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Record {
    Record {
        status: Status::parse(status).unwrap_or(Status::Unknown),
        source,
        actor,
        captured_at,
        expires_at,
    }
}

/// The stored consent of one channel and purpose.
pub async fn current_record(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    channel: Channel,
    purpose: Purpose,
) -> Result<Option<Record>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT status, source, actor, captured_at, expires_at FROM crm_consents
         WHERE brand_id = $1 AND profile_id = $2 AND channel = $3 AND purpose = $4",
        brand_id,
        profile_id,
        channel.as_str(),
        purpose.as_str()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| {
        record_of(
            &row.status,
            row.source,
            row.actor,
            row.captured_at,
            row.expires_at,
        )
    }))
}

/// Every stored consent of the profile.
pub async fn records(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Vec<(Channel, Purpose, Record)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT channel, purpose, status, source, actor, captured_at, expires_at FROM crm_consents
         WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        profile_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let channel = Channel::parse(&row.channel)?;
            let purpose = Purpose::parse(&row.purpose)?;
            let record = record_of(
                &row.status,
                row.source,
                row.actor,
                row.captured_at,
                row.expires_at,
            );
            Some((channel, purpose, record))
        })
        .collect())
}

/// A consent change to apply with [`set`].
pub struct Change<'a> {
    pub channel: Channel,
    pub purpose: Purpose,
    pub status: Status,
    pub source: &'a str,
    pub actor: Option<&'a str>,
    pub captured_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `set`, `merge` or `unmerge`, as recorded in the history.
    pub cause: &'a str,
}

/// What [`set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    /// The consent changed (from the previous record, if any); the history has a new row.
    Changed { previous: Option<Record> },
    /// `unknown` for a pair that had no record: nothing to change.
    Unchanged,
    /// The current record was captured after this change: nothing written.
    Stale { current: Record },
}

/// Applies a change to the profile's consent (`unknown` deletes the row) and appends it to the history,
/// unless it is older than the current record. Run it in the caller's transaction, with the profile
/// locked, so concurrent writes to one pair take turns.
pub async fn set(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    change: &Change<'_>,
) -> Result<SetOutcome, sqlx::Error> {
    let previous =
        current_record(conn, brand_id, profile_id, change.channel, change.purpose).await?;
    if let Some(current) = &previous
        && current.captured_at > change.captured_at
    {
        return Ok(SetOutcome::Stale {
            current: current.clone(),
        });
    }
    let (channel, purpose) = (change.channel.as_str(), change.purpose.as_str());
    if change.status == Status::Unknown {
        if previous.is_none() {
            return Ok(SetOutcome::Unchanged);
        }
        sqlx::query!(
            "DELETE FROM crm_consents
             WHERE brand_id = $1 AND profile_id = $2 AND channel = $3 AND purpose = $4",
            brand_id,
            profile_id,
            channel,
            purpose
        )
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query!(
            "INSERT INTO crm_consents
                 (brand_id, profile_id, channel, purpose, status, source, actor, captured_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (profile_id, channel, purpose) DO UPDATE SET
                 status = EXCLUDED.status, source = EXCLUDED.source, actor = EXCLUDED.actor,
                 captured_at = EXCLUDED.captured_at, expires_at = EXCLUDED.expires_at",
            brand_id,
            profile_id,
            channel,
            purpose,
            change.status.as_str(),
            change.source,
            change.actor,
            change.captured_at,
            change.expires_at
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "INSERT INTO crm_consent_history
             (brand_id, profile_id, channel, purpose, status, source, actor, captured_at, expires_at, cause)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        brand_id,
        profile_id,
        channel,
        purpose,
        change.status.as_str(),
        change.source,
        change.actor,
        change.captured_at,
        change.expires_at,
        change.cause
    )
    .execute(&mut *conn)
    .await?;
    Ok(SetOutcome::Changed { previous })
}

/// One row of a profile's consent history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmConsentHistoryEntry)]
pub struct HistoryEntry {
    pub id: i64,
    pub channel: String,
    pub purpose: String,
    pub status: String,
    pub source: String,
    pub actor: Option<String>,
    pub captured_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `set`, `merge` or `unmerge`.
    pub cause: String,
    pub recorded_at: DateTime<Utc>,
}

/// The profile's history, newest first, after the entry `before` (exclusive), at most `limit` rows.
pub async fn history(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        "SELECT id, channel, purpose, status, source, actor, captured_at, expires_at, cause, recorded_at
         FROM crm_consent_history
         WHERE brand_id = $1 AND profile_id = $2 AND ($3::bigint IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        brand_id,
        profile_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn record(status: Status, captured_days_ago: i64, expires_in_days: Option<i64>) -> Record {
        let now = Utc::now();
        Record {
            status,
            source: "test".into(),
            actor: None,
            captured_at: now - Duration::days(captured_days_ago),
            expires_at: expires_in_days.map(|days| now + Duration::days(days)),
        }
    }

    #[test]
    fn unknown_means_no_except_for_service() {
        for purpose in Purpose::ALL {
            assert!(decide(Status::Granted, *purpose).0, "{purpose:?}");
            assert!(!decide(Status::Denied, *purpose).0, "{purpose:?}");
        }
        assert_eq!(
            decide(Status::Unknown, Purpose::Marketing),
            (false, ContactReason::NoConsent)
        );
        assert!(!decide(Status::Unknown, Purpose::Outreach).0);
        assert!(!decide(Status::Unknown, Purpose::Events).0);
        assert_eq!(
            decide(Status::Unknown, Purpose::Service),
            (true, ContactReason::ServiceDefault)
        );
    }

    #[test]
    fn an_expired_consent_is_unknown() {
        let now = Utc::now();
        assert_eq!(
            record(Status::Granted, 10, Some(-1)).effective(now),
            Status::Unknown
        );
        assert_eq!(
            record(Status::Granted, 10, Some(1)).effective(now),
            Status::Granted
        );
        assert_eq!(effective(None, now), Status::Unknown);
    }

    #[test]
    fn the_most_restrictive_status_wins() {
        use Status::*;
        assert_eq!(most_restrictive(Granted, Denied), Denied);
        assert_eq!(most_restrictive(Unknown, Denied), Denied);
        assert_eq!(most_restrictive(Granted, Unknown), Unknown);
        assert_eq!(most_restrictive(Granted, Granted), Granted);
        assert_eq!(most_restrictive(Unknown, Unknown), Unknown);
    }

    #[test]
    fn a_merge_keeps_a_denial_over_a_grant_and_a_decision_over_none() {
        let now = Utc::now();
        let granted = record(Status::Granted, 1, None);
        let denied_old = record(Status::Denied, 300, None);
        let expired_denial = record(Status::Denied, 1, Some(-1));
        let older_grant = record(Status::Granted, 30, None);
        assert_eq!(
            merge_records(Some(&granted), Some(&denied_old), now),
            Some(&denied_old)
        );
        assert_eq!(merge_records(None, Some(&granted), now), Some(&granted));
        assert_eq!(
            merge_records(Some(&expired_denial), Some(&granted), now),
            Some(&granted)
        );
        assert_eq!(
            merge_records(Some(&older_grant), Some(&granted), now),
            Some(&granted)
        );
        assert_eq!(merge_records(Some(&expired_denial), None, now), None);
    }

    #[test]
    fn names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(*channel));
        }
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(*purpose));
        }
        assert_eq!(Channel::ALL.len(), 10);
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Purpose::parse("Marketing"), None);
    }
}
