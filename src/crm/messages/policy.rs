//! The rules between consent and the provider: the frequency cap (at most N messages per profile, channel
//! and purpose in a window; the brand's own cap, else the `[crm.messages.caps]` default) and quiet hours
//! (marketing waits until the quiet hours end in the profile's time zone, else the brand's).

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::ledger;
use crate::config::{FrequencyCap, MessageSettings};
use crate::crm::consent::Purpose;
use crate::crm::profile::Profile;

pub fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// The cap that applies to `purpose` in the brand.
pub async fn cap(
    conn: &mut PgConnection,
    settings: &MessageSettings,
    brand_id: Uuid,
    purpose: Purpose,
) -> Result<Option<FrequencyCap>, sqlx::Error> {
    if let Some((max, window)) = ledger::brand_cap(conn, brand_id, purpose.as_str()).await? {
        return Ok(Some(FrequencyCap {
            max_messages: u32::try_from(max).unwrap_or(0),
            window_secs: u64::try_from(window).unwrap_or(1),
        }));
    }
    Ok(settings.caps.get(purpose.as_str()).copied())
}

/// Whether one more message would exceed the cap. The caller holds the profile's cap lock.
pub async fn capped(
    conn: &mut PgConnection,
    cap: Option<FrequencyCap>,
    entry: &ledger::Entry,
    profile_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let Some(cap) = cap else {
        return Ok(false);
    };
    let window = Duration::seconds(i64::try_from(cap.window_secs).unwrap_or(i64::MAX / 1000));
    let since = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let count = ledger::count_since(
        conn,
        profile_id,
        &entry.channel,
        &entry.purpose,
        since,
        entry.id,
    )
    .await?;
    Ok(count >= i64::from(cap.max_messages))
}

/// The profile's time zone: its `timezone` custom attribute when PostgreSQL knows the zone, else the brand's.
pub async fn timezone(
    conn: &mut PgConnection,
    profile: &Profile,
    brand_timezone: &str,
) -> Result<String, sqlx::Error> {
    if let Some(zone) = profile.custom.get("timezone").and_then(|v| v.as_str()) {
        let known = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS "known!""#,
            zone
        )
        .fetch_one(&mut *conn)
        .await?;
        if known {
            return Ok(zone.to_owned());
        }
    }
    Ok(brand_timezone.to_owned())
}

/// When the quiet hours around `now` end, if `now` is in them (local time in `zone`).
pub async fn quiet_until(
    conn: &mut PgConnection,
    settings: &MessageSettings,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let (Some(start), Some(end)) = (
        parse_time(&settings.quiet_hours_start),
        parse_time(&settings.quiet_hours_end),
    ) else {
        return Ok(None);
    };
    if start == end {
        return Ok(None);
    }
    let local: NaiveDateTime = sqlx::query_scalar!(
        r#"SELECT ($1::timestamptz AT TIME ZONE $2) AS "local!""#,
        now,
        zone
    )
    .fetch_one(&mut *conn)
    .await?;
    let Some(end_local) = quiet_end(local, start, end) else {
        return Ok(None);
    };
    let until = sqlx::query_scalar!(
        r#"SELECT ($1::timestamp AT TIME ZONE $2) AS "until!""#,
        end_local,
        zone
    )
    .fetch_one(conn)
    .await?;
    Ok(Some(until))
}

/// The local end of the quiet hours `local` is in (`start..end`, past midnight when `end < start`).
fn quiet_end(local: NaiveDateTime, start: NaiveTime, end: NaiveTime) -> Option<NaiveDateTime> {
    let time = local.time();
    let date = local.date();
    if start < end {
        (time >= start && time < end).then(|| date.and_time(end))
    } else if time >= start {
        date.succ_opt().map(|next| next.and_time(end))
    } else if time < end {
        Some(date.and_time(end))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn quiet_hours_past_midnight_end_the_next_morning() {
        let (start, end) = (parse_time("21:00"), parse_time("08:00"));
        let (Some(start), Some(end)) = (start, end) else {
            panic!("times");
        };
        assert_eq!(
            quiet_end(at("2026-12-01 22:30"), start, end),
            Some(at("2026-12-02 08:00"))
        );
        assert_eq!(
            quiet_end(at("2026-12-02 07:59"), start, end),
            Some(at("2026-12-02 08:00"))
        );
        assert_eq!(quiet_end(at("2026-12-02 08:00"), start, end), None);
        assert_eq!(quiet_end(at("2026-12-02 20:59"), start, end), None);
    }

    #[test]
    fn quiet_hours_within_a_day() {
        let (Some(start), Some(end)) = (parse_time("12:00"), parse_time("14:00")) else {
            panic!("times");
        };
        assert_eq!(
            quiet_end(at("2026-12-01 13:00"), start, end),
            Some(at("2026-12-01 14:00"))
        );
        assert_eq!(quiet_end(at("2026-12-01 14:00"), start, end), None);
    }
}
