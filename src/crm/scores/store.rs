//! Scores kept: the current value per profile and score (`crm_scores`), a history row whenever a value or
//! its reasons' factors and contributions change, and `crm.churn.risk.high` in the outbox when churn risk
//! crosses above [`HIGH_CHURN_RISK`] — from at most that to more, never while it stays above.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::compute::{Computed, Reason};
use crate::outbox::{self, NewEvent};

/// Churn risk above this is high.
pub const HIGH_CHURN_RISK: i16 = 80;

pub const ENGAGEMENT: &str = "engagement";
pub const CHURN_RISK: &str = "churn_risk";

/// Why a score was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Event,
    Nightly,
    /// The profile's consent changed through the consent API.
    Consent,
    /// The profile survived a merge made without an event (it gained the absorbed profiles' activities).
    Merge,
    /// A merge of the profile was undone.
    Unmerge,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Event => "event",
            Cause::Nightly => "nightly",
            Cause::Consent => "consent",
            Cause::Merge => "merge",
            Cause::Unmerge => "unmerge",
        }
    }
}

/// A score as it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmScore)]
pub struct Score {
    /// 0–100.
    #[schema(example = 72)]
    pub value: i16,
    /// The largest contributions, largest first.
    pub reasons: Vec<Reason>,
    pub rules_version: i32,
    pub computed_at: DateTime<Utc>,
}

/// A profile's scores; a score not computed yet is absent.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = CrmScores)]
pub struct Scores {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement: Option<Score>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn_risk: Option<Score>,
}

impl Scores {
    pub fn is_empty(&self) -> bool {
        self.engagement.is_none() && self.churn_risk.is_none()
    }
}

/// One profile's two new scores.
pub struct Scored<'a> {
    pub profile_id: Uuid,
    pub engagement: &'a Computed,
    pub churn: &'a Computed,
}

/// Writes both scores of each profile (distinct, their rows held locked by the caller) in one statement.
/// Returns the profiles whose churn risk crossed.
pub async fn write(
    conn: &mut PgConnection,
    brand_id: Uuid,
    rules_version: i32,
    scored: &[Scored<'_>],
    now: DateTime<Utc>,
    cause: Cause,
) -> anyhow::Result<Vec<Uuid>> {
    if scored.is_empty() {
        return Ok(Vec::new());
    }
    let mut profiles = Vec::with_capacity(scored.len() * 2);
    let mut names = Vec::with_capacity(scored.len() * 2);
    let mut values = Vec::with_capacity(scored.len() * 2);
    let mut reasons = Vec::with_capacity(scored.len() * 2);
    for one in scored {
        for (name, computed) in [(ENGAGEMENT, one.engagement), (CHURN_RISK, one.churn)] {
            profiles.push(one.profile_id);
            names.push(name.to_owned());
            values.push(computed.value);
            reasons.push(serde_json::to_value(&computed.reasons)?);
        }
    }
    // One statement: the old values (read before the upsert, in the statement's snapshot), the upsert, and
    // a history row for each score whose value or reasons' factors and contributions changed. A reason's
    // figure alone (the days since the last activity, growing every night for every lapsed profile) is
    // kept current in `crm_scores` but writes no history: that was a row a night per lapsed profile.
    let rows = sqlx::query!(
        r#"WITH new AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::int2[], $5::jsonb[])
                        AS n (profile_id, score, value, reasons)),
           old AS (SELECT s.profile_id, s.score, s.value, s.reasons FROM crm_scores s
                   WHERE s.brand_id = $1 AND s.profile_id = ANY($2)
                   ORDER BY s.profile_id, s.score FOR UPDATE),
           up AS (
               INSERT INTO crm_scores (brand_id, profile_id, score, value, reasons, rules_version, computed_at)
               SELECT $1, n.profile_id, n.score, n.value, n.reasons, $6, $7 FROM new n
               ON CONFLICT (brand_id, profile_id, score) DO UPDATE SET
                   value = EXCLUDED.value, reasons = EXCLUDED.reasons,
                   rules_version = EXCLUDED.rules_version, computed_at = EXCLUDED.computed_at),
           history AS (
               INSERT INTO crm_score_history
                   (brand_id, profile_id, score, value, previous, reasons, rules_version, cause, computed_at)
               SELECT $1, n.profile_id, n.score, n.value, o.value, n.reasons, $6, $8, $7
               FROM new n LEFT JOIN old o ON o.profile_id = n.profile_id AND o.score = n.score
               WHERE o.score IS NULL OR o.value <> n.value
                  OR (SELECT jsonb_agg(r.e - 'value' ORDER BY r.i)
                      FROM jsonb_array_elements(o.reasons) WITH ORDINALITY AS r (e, i))
                     IS DISTINCT FROM
                     (SELECT jsonb_agg(r.e - 'value' ORDER BY r.i)
                      FROM jsonb_array_elements(n.reasons) WITH ORDINALITY AS r (e, i)))
           SELECT n.profile_id AS "profile_id!", n.score AS "score!", o.value AS previous
           FROM new n LEFT JOIN old o ON o.profile_id = n.profile_id AND o.score = n.score"#,
        brand_id,
        &profiles,
        &names,
        &values,
        &reasons,
        rules_version,
        now,
        cause.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let previous: HashMap<Uuid, Option<i16>> = rows
        .into_iter()
        .filter(|row| row.score == CHURN_RISK)
        .map(|row| (row.profile_id, row.previous))
        .collect();
    let mut crossed = Vec::new();
    for one in scored {
        let churn = one.churn;
        let previous = previous.get(&one.profile_id).copied().flatten();
        if churn.value > HIGH_CHURN_RISK && previous.is_none_or(|p| p <= HIGH_CHURN_RISK) {
            crossed.push(one.profile_id);
            outbox::record(
                &mut *conn,
                NewEvent {
                    topic: "crm.churn.risk.high",
                    aggregate_type: "crm_profile",
                    aggregate_id: one.profile_id.to_string(),
                    payload: json!({
                        "brand_id": brand_id,
                        "profile_id": one.profile_id,
                        "value": churn.value,
                        "previous": previous,
                        "reasons": churn.reasons,
                        "rules_version": rules_version,
                        "computed_at": now,
                        "cause": cause.as_str(),
                    }),
                },
            )
            .await?;
        }
    }
    Ok(crossed)
}

/// Scores from their rows as a JSON array (`score`, `value`, `reasons`, `rules_version`, `computed_at`),
/// as `profile::load_with_scores` reads them along with the profile.
pub fn from_json(rows: serde_json::Value) -> anyhow::Result<Scores> {
    #[derive(Deserialize)]
    struct Row {
        score: String,
        value: i16,
        reasons: Vec<Reason>,
        rules_version: i32,
        computed_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = serde_json::from_value(rows)?;
    let mut scores = Scores::default();
    for row in rows {
        let score = Score {
            value: row.value,
            reasons: row.reasons,
            rules_version: row.rules_version,
            computed_at: row.computed_at,
        };
        match row.score.as_str() {
            ENGAGEMENT => scores.engagement = Some(score),
            CHURN_RISK => scores.churn_risk = Some(score),
            _ => {}
        }
    }
    Ok(scores)
}

/// The profile's current scores.
pub async fn current(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> anyhow::Result<Scores> {
    let rows = sqlx::query!(
        "SELECT score, value, reasons, rules_version, computed_at FROM crm_scores
         WHERE brand_id = $1 AND profile_id = $2",
        brand_id,
        profile_id
    )
    .fetch_all(conn)
    .await?;
    let mut scores = Scores::default();
    for row in rows {
        let score = Score {
            value: row.value,
            reasons: serde_json::from_value(row.reasons)?,
            rules_version: row.rules_version,
            computed_at: row.computed_at,
        };
        match row.score.as_str() {
            ENGAGEMENT => scores.engagement = Some(score),
            CHURN_RISK => scores.churn_risk = Some(score),
            _ => {}
        }
    }
    Ok(scores)
}

/// One change of a score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = CrmScoreChange)]
pub struct Change {
    #[serde(skip)]
    pub id: i64,
    /// `engagement` or `churn_risk`.
    pub score: String,
    pub value: i16,
    /// The value before; absent for the first computation.
    pub previous: Option<i16>,
    pub reasons: Vec<Reason>,
    pub rules_version: i32,
    /// `event` (after an event of the profile), `consent` (after a consent change) or `nightly` (the
    /// decay job).
    pub cause: String,
    pub computed_at: DateTime<Utc>,
}

/// The profile's score changes, newest first, older than the change `before`.
pub async fn history(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    score: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> anyhow::Result<Vec<Change>> {
    let rows = sqlx::query!(
        "SELECT id, score, value, previous, reasons, rules_version, cause, computed_at
         FROM crm_score_history
         WHERE brand_id = $1 AND profile_id = $2 AND ($3::text IS NULL OR score = $3)
           AND ($4::bigint IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
        brand_id,
        profile_id,
        score,
        before,
        limit
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Change {
                id: row.id,
                score: row.score,
                value: row.value,
                previous: row.previous,
                reasons: serde_json::from_value(row.reasons)?,
                rules_version: row.rules_version,
                cause: row.cause,
                computed_at: row.computed_at,
            })
        })
        .collect()
}

/// Profiles merged away lose their scores (a segment over a score reads live profiles only, but nothing
/// should read a dead profile's values as current); their history stays. An unmerge scores them again.
pub async fn forget(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM crm_scores WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        profile_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}
