//! Computing profiles' two scores: two aggregate queries for any number of profiles (one over the
//! engagement window grouped by profile, type and day, one over the last two churn periods with each
//! profile's counters and opt-outs), then the arithmetic here, in plain functions the unit tests drive with
//! known figures.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{ChurnRules, EngagementRules, Rules};

/// The reasons kept with a score: its largest contributions.
pub const MAX_REASONS: usize = 5;

/// One contribution to a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CrmScoreReason)]
pub struct Reason {
    #[schema(example = "days_since_last_activity")]
    pub factor: String,
    /// The factor's figure (days, occurrences, a change in percent …).
    #[schema(example = 212)]
    pub value: f64,
    /// Points it adds to the score.
    #[schema(example = 35)]
    pub contribution: i16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub value: i16,
    pub reasons: Vec<Reason>,
}

/// One activity type's figures in the engagement window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeActivity {
    /// Occurrences counted (at most `max_per_day` a day).
    pub counted: i64,
    /// The counted occurrences weighted by their decay (a fresh one is 1, one a half-life old 0.5).
    pub decayed: f64,
}

/// The figures churn risk is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChurnFacts {
    pub first_activity_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub activities: i64,
    pub recent: i64,
    pub previous: i64,
    pub recent_spend: f64,
    pub previous_spend: f64,
    /// Negative signal type → occurrences in the last period.
    pub negative: BTreeMap<String, i64>,
    pub opt_outs: i64,
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The reasons of `factors` (largest first, positive ones only) and their sum, at most 100.
fn finish(mut factors: Vec<(String, f64, f64)>) -> Computed {
    let total: f64 = factors.iter().map(|(_, _, points)| points).sum();
    factors.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let reasons = factors
        .into_iter()
        .filter(|(_, _, points)| points.round() >= 1.0)
        .take(MAX_REASONS)
        .map(|(factor, value, points)| Reason {
            factor,
            value: round1(value),
            contribution: points.round().clamp(0.0, 100.0) as i16,
        })
        .collect();
    Computed {
        value: total.round().clamp(0.0, 100.0) as i16,
        reasons,
    }
}

/// Engagement from each type's figures: points × decayed occurrences, capped per type, normalised so that
/// `saturation` points make 100.
pub fn engagement(rules: &EngagementRules, by_type: &BTreeMap<String, TypeActivity>) -> Computed {
    let factors = by_type
        .iter()
        .filter_map(|(kind, activity)| {
            let rule = rules.activities.get(kind)?;
            let points = (rule.points * activity.decayed).min(rule.cap);
            Some((
                kind.clone(),
                activity.counted as f64,
                points * 100.0 / rules.saturation,
            ))
        })
        .collect();
    finish(factors)
}

/// How much `recent` fell from `previous`, 0–1 (0 when it did not fall or there was nothing before).
fn fall(previous: f64, recent: f64) -> f64 {
    if previous <= 0.0 {
        0.0
    } else {
        ((previous - recent) / previous).clamp(0.0, 1.0)
    }
}

fn change_percent(previous: f64, recent: f64) -> f64 {
    if previous <= 0.0 {
        0.0
    } else {
        (recent - previous) / previous * 100.0
    }
}

/// Churn risk: recency against the profile's own usual gap, falling frequency, falling spend, negative
/// signals and opt-outs.
pub fn churn(rules: &ChurnRules, facts: &ChurnFacts, now: DateTime<Utc>) -> Computed {
    let days = |d: Duration| d.num_seconds() as f64 / 86_400.0;
    let mut factors = Vec::new();
    if let (Some(first), Some(last)) = (facts.first_activity_at, facts.last_activity_at) {
        let gap = if facts.activities >= 2 && last > first {
            (days(last - first) / (facts.activities - 1) as f64).max(1.0)
        } else {
            rules.default_gap_days
        };
        let since = days(now - last).max(0.0);
        let ratio = since / gap;
        let share = ((ratio - 1.0) / (rules.recency_full_ratio - 1.0)).clamp(0.0, 1.0);
        factors.push((
            "days_since_last_activity".to_owned(),
            since.floor(),
            rules.recency_weight * share,
        ));
    }
    factors.push((
        "activity_change_percent".to_owned(),
        change_percent(facts.previous as f64, facts.recent as f64),
        rules.frequency_weight * fall(facts.previous as f64, facts.recent as f64),
    ));
    factors.push((
        "spend_change_percent".to_owned(),
        change_percent(facts.previous_spend, facts.recent_spend),
        rules.spend_weight * fall(facts.previous_spend, facts.recent_spend),
    ));
    for (kind, rule) in &rules.negative {
        let count = facts.negative.get(kind).copied().unwrap_or(0);
        factors.push((
            format!("{kind}_recent"),
            count as f64,
            (rule.points * count as f64).min(rule.cap),
        ));
    }
    factors.push((
        "opt_outs_recent".to_owned(),
        facts.opt_outs as f64,
        (rules.opt_out.points * facts.opt_outs as f64).min(rules.opt_out.cap),
    ));
    finish(factors)
}

/// Each engagement type's figures for each of the profiles, as of `now` (a profile without any is absent).
pub async fn engagement_facts(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
    rules: &EngagementRules,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, BTreeMap<String, TypeActivity>>, sqlx::Error> {
    let (types, per_day): (Vec<String>, Vec<i32>) = rules
        .activities
        .iter()
        .map(|(kind, rule)| (kind.clone(), rule.max_per_day))
        .unzip();
    // Decay is taken at each day's latest activity: the day's capped count ages as one. The exponent is
    // capped at 1,000 half-lives (0.5^1000 ≈ 1e-301, nothing): beyond ~1,074 PostgreSQL's power() refuses
    // to underflow to 0 and would fail the event (a 1-day half-life over a 5-year window reaches it).
    let rows = sqlx::query!(
        r#"WITH rule AS (SELECT * FROM unnest($3::text[], $4::int[]) AS r (type, per_day)),
           days AS (
               SELECT a.profile_id, a.type, count(*) AS n, max(a.occurred_at) AS last_at
               FROM crm_activities a
               WHERE a.brand_id = $1 AND a.profile_id = ANY($2) AND a.type = ANY($3)
                 AND a.occurred_at > $5::timestamptz - make_interval(days => $6::int)
               GROUP BY a.profile_id, a.type, date_trunc('day', a.occurred_at, 'UTC'))
           SELECT d.profile_id AS "profile_id!", d.type AS "type!",
                  sum(least(d.n, r.per_day))::bigint AS "counted!",
                  sum(least(d.n, r.per_day) * power(0.5::float8, least(
                      greatest(extract(epoch FROM $5 - d.last_at)::float8, 0) / 86400.0 / $7::float8,
                      1000))
                  )::float8 AS "decayed!"
           FROM days d JOIN rule r ON r.type = d.type
           GROUP BY d.profile_id, d.type"#,
        brand_id,
        profile_ids,
        &types,
        &per_day,
        now,
        rules.window_days,
        rules.half_life_days,
    )
    .fetch_all(conn)
    .await?;
    let mut facts: HashMap<Uuid, BTreeMap<String, TypeActivity>> = HashMap::new();
    for row in rows {
        facts.entry(row.profile_id).or_default().insert(
            row.r#type,
            TypeActivity {
                counted: row.counted,
                decayed: row.decayed,
            },
        );
    }
    Ok(facts)
}

/// The churn figures of each of the profiles, as of `now`; a profile the brand does not have is absent.
pub async fn churn_facts(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
    rules: &ChurnRules,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, ChurnFacts>, sqlx::Error> {
    let negative: Vec<String> = rules.negative.keys().cloned().collect();
    // One profile's figures per row of the lateral subquery (its CTEs see that row's profile id).
    // Spend is compared in the currency of the latest purchase of the two periods; amounts are validated
    // decimals at ingest, the pattern only keeps a cast from ever failing the event.
    let rows = sqlx::query!(
        r#"SELECT w.profile_id AS "profile_id!", f.first_activity_at AS "first_activity_at?",
                  f.last_activity_at AS "last_activity_at?", f.activities AS "activities!",
                  f.recent AS "recent!", f.previous AS "previous!", f.recent_spend AS "recent_spend!",
                  f.previous_spend AS "previous_spend!", f.negative AS "negative!", f.opt_outs AS "opt_outs!"
           FROM unnest($2::uuid[]) AS w (profile_id)
           CROSS JOIN LATERAL (
               WITH span AS (
                   SELECT a.type, a.occurred_at, a.properties,
                          a.occurred_at > $3::timestamptz - make_interval(days => $4::int) AS is_recent
                   FROM crm_activities a
                   WHERE a.brand_id = $1 AND a.profile_id = w.profile_id
                     AND a.occurred_at > $3::timestamptz - make_interval(days => $4::int * 2)
                     AND a.occurred_at <= $3::timestamptz),
               currency AS (
                   SELECT upper(properties ->> 'currency') AS code FROM span
                   WHERE type = 'purchase' ORDER BY occurred_at DESC LIMIT 1),
               spend AS (
                   SELECT s.is_recent, (s.properties ->> 'amount')::numeric AS amount FROM span s, currency c
                   WHERE s.type = 'purchase' AND upper(s.properties ->> 'currency') = c.code
                     AND s.properties ->> 'amount' ~ '^[0-9]{1,14}(\.[0-9]{1,4})?$')
               SELECT p.first_activity_at, p.last_activity_at,
                      (SELECT COALESCE(sum(value::bigint), 0) FROM jsonb_each_text(p.activity_counts)
                       WHERE value ~ '^[0-9]{1,18}$')::bigint AS activities,
                      (SELECT count(*) FROM span WHERE is_recent) AS recent,
                      (SELECT count(*) FROM span WHERE NOT is_recent) AS previous,
                      (SELECT COALESCE(sum(amount) FILTER (WHERE is_recent), 0)::float8 FROM spend) AS recent_spend,
                      (SELECT COALESCE(sum(amount) FILTER (WHERE NOT is_recent), 0)::float8 FROM spend) AS previous_spend,
                      (SELECT COALESCE(jsonb_object_agg(type, n), '{}') FROM (
                           SELECT type, count(*) AS n FROM span WHERE is_recent AND type = ANY($5) GROUP BY type) t
                      ) AS negative,
                      (SELECT count(*) FROM crm_consents c
                       WHERE c.brand_id = $1 AND c.profile_id = w.profile_id AND c.status = 'denied'
                         AND c.captured_at > $3::timestamptz - make_interval(days => $4::int)) AS opt_outs
               FROM crm_profiles p WHERE p.brand_id = $1 AND p.id = w.profile_id
           ) f"#,
        brand_id,
        profile_ids,
        now,
        rules.period_days,
        &negative,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.profile_id,
                ChurnFacts {
                    first_activity_at: row.first_activity_at,
                    last_activity_at: row.last_activity_at,
                    activities: row.activities,
                    recent: row.recent,
                    previous: row.previous,
                    recent_spend: row.recent_spend,
                    previous_spend: row.previous_spend,
                    negative: serde_json::from_value(row.negative).unwrap_or_default(),
                    opt_outs: row.opt_outs,
                },
            )
        })
        .collect())
}

/// Both scores of each of the profiles under `rules`, as of `now`, in two statements whatever their
/// number; a profile the brand does not have is absent.
pub async fn compute(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, (Computed, Computed)>, sqlx::Error> {
    if profile_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let facts = churn_facts(conn, brand_id, profile_ids, &rules.churn, now).await?;
    if facts.is_empty() {
        return Ok(HashMap::new());
    }
    let mut by_profile =
        engagement_facts(conn, brand_id, profile_ids, &rules.engagement, now).await?;
    Ok(facts
        .into_iter()
        .map(|(id, facts)| {
            let by_type = by_profile.remove(&id).unwrap_or_default();
            (
                id,
                (
                    engagement(&rules.engagement, &by_type),
                    churn(&rules.churn, &facts, now),
                ),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn engagement_sums_capped_points_and_saturates_at_100() {
        let rules = Rules::default().engagement;
        let by_type = BTreeMap::from([
            (
                "purchase".to_owned(),
                TypeActivity {
                    counted: 1,
                    decayed: 1.0,
                },
            ),
            (
                "page_view".to_owned(),
                TypeActivity {
                    counted: 40,
                    decayed: 30.0,
                },
            ),
            (
                "custom_thing".to_owned(),
                TypeActivity {
                    counted: 9,
                    decayed: 9.0,
                },
            ),
        ]);
        let computed = engagement(&rules, &by_type);
        // 25 for the purchase, page views capped at 10; unknown types count for nothing.
        assert_eq!(computed.value, 35);
        assert_eq!(
            computed.reasons,
            vec![
                Reason {
                    factor: "purchase".into(),
                    value: 1.0,
                    contribution: 25
                },
                Reason {
                    factor: "page_view".into(),
                    value: 40.0,
                    contribution: 10
                },
            ]
        );
        let many = BTreeMap::from([
            (
                "purchase".to_owned(),
                TypeActivity {
                    counted: 9,
                    decayed: 9.0,
                },
            ),
            (
                "booking".to_owned(),
                TypeActivity {
                    counted: 9,
                    decayed: 9.0,
                },
            ),
            (
                "event_attended".to_owned(),
                TypeActivity {
                    counted: 9,
                    decayed: 9.0,
                },
            ),
        ]);
        assert_eq!(engagement(&rules, &many).value, 100);
    }

    #[test]
    fn churn_weighs_recency_against_the_usual_gap() {
        let rules = Rules::default().churn;
        let facts = ChurnFacts {
            first_activity_at: Some(now() - Duration::days(120)),
            last_activity_at: Some(now() - Duration::days(40)),
            activities: 9,
            ..ChurnFacts::default()
        };
        // Usual gap 10 days; 40 days is 4 gaps, beyond the full ratio of 3: the whole weight.
        let computed = churn(&rules, &facts, now());
        assert_eq!(computed.value, 50);
        assert_eq!(
            computed.reasons,
            vec![Reason {
                factor: "days_since_last_activity".into(),
                value: 40.0,
                contribution: 50
            }]
        );
        // The same gap, two of them since the last activity: halfway between one and three.
        let halfway = ChurnFacts {
            first_activity_at: Some(now() - Duration::days(100)),
            last_activity_at: Some(now() - Duration::days(20)),
            ..facts
        };
        assert_eq!(churn(&rules, &halfway, now()).value, 25);
    }

    #[test]
    fn churn_counts_falls_negative_signals_and_opt_outs() {
        let rules = Rules::default().churn;
        let facts = ChurnFacts {
            first_activity_at: Some(now() - Duration::days(150)),
            last_activity_at: Some(now() - Duration::days(1)),
            activities: 11,
            recent: 1,
            previous: 10,
            recent_spend: 50.0,
            previous_spend: 200.0,
            negative: BTreeMap::from([("support_case_opened".to_owned(), 3)]),
            opt_outs: 1,
        };
        let computed = churn(&rules, &facts, now());
        // Frequency fell 90 % (18), spend 75 % (11.25), three cases capped at 16, one opt-out 10.
        assert_eq!(computed.value, 55);
        let factors: Vec<(&str, f64, i16)> = computed
            .reasons
            .iter()
            .map(|r| (r.factor.as_str(), r.value, r.contribution))
            .collect();
        assert_eq!(
            factors,
            [
                ("activity_change_percent", -90.0, 18),
                ("support_case_opened_recent", 3.0, 16),
                ("spend_change_percent", -75.0, 11),
                ("opt_outs_recent", 1.0, 10),
            ]
        );
    }

    #[test]
    fn a_profile_without_activity_has_no_churn_risk() {
        let computed = churn(&Rules::default().churn, &ChurnFacts::default(), now());
        assert_eq!(
            computed,
            Computed {
                value: 0,
                reasons: vec![]
            }
        );
    }
}
