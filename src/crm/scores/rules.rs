//! A brand's scoring rules and weights: versioned (every change is a new version, kept), the built-in
//! defaults (version 0) until the brand saves its own. Checked before they are saved, with field errors
//! that point into the document (`/engagement/activities/purchase/points`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::errors::FieldError;

/// The most activity types one rule set names (engagement or negative signals).
pub const MAX_TYPES: usize = 50;

/// How engagement and churn risk are computed in a brand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmScoreRules)]
pub struct Rules {
    pub engagement: EngagementRules,
    pub churn: ChurnRules,
}

/// Engagement: points per activity, halved every `half_life_days`, counted at most `max_per_day` times a
/// day and `cap` points in all per type (as Marketo caps its scoring campaigns); `saturation` points make 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmEngagementRules)]
pub struct EngagementRules {
    /// Days after which an activity's points are halved (1–3650).
    #[schema(example = 30)]
    pub half_life_days: f64,
    /// Activities older than this count for nothing (1–1830 days).
    #[schema(example = 365)]
    pub window_days: i32,
    /// The decayed points that make a score of 100 (1–100,000).
    #[schema(example = 100)]
    pub saturation: f64,
    /// Activity type → its rule. Types not named count for nothing.
    pub activities: BTreeMap<String, ActivityRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmActivityScoreRule)]
pub struct ActivityRule {
    /// Points of one fresh activity (0–1,000).
    pub points: f64,
    /// Activities of the type counted per (UTC) day at most (1–1,000).
    pub max_per_day: i32,
    /// Points the type gives at most, all days together (0–100,000).
    pub cap: f64,
}

/// Churn risk: the sum of the weighted factors, at most 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmChurnRules)]
pub struct ChurnRules {
    /// The period frequency and spend compare (the last one against the one before), and negative signals
    /// and opt-outs count in (7–365 days).
    #[schema(example = 90)]
    pub period_days: i32,
    /// The usual gap between activities assumed for a profile with fewer than two (1–365 days).
    #[schema(example = 30)]
    pub default_gap_days: f64,
    /// Points when the time since the last activity reaches `recency_full_ratio` times the profile's usual
    /// gap; none up to one usual gap, linear in between (0–100).
    pub recency_weight: f64,
    /// 1.5–100.
    pub recency_full_ratio: f64,
    /// Points when the last period had no activity at all after one that had some; proportional to the
    /// fall (0–100).
    pub frequency_weight: f64,
    /// The same for purchase amounts, in the currency of the profile's latest purchase (0–100).
    pub spend_weight: f64,
    /// Activity type → points per occurrence in the period, capped (support cases, suspended services).
    pub negative: BTreeMap<String, SignalRule>,
    /// Points per consent denied (opted out of) during the period, capped.
    pub opt_out: SignalRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmSignalScoreRule)]
pub struct SignalRule {
    /// 0–100.
    pub points: f64,
    /// 0–100.
    pub cap: f64,
}

impl Default for Rules {
    fn default() -> Self {
        let activity = |points: f64, max_per_day: i32, cap: f64| ActivityRule {
            points,
            max_per_day,
            cap,
        };
        let signal = |points: f64, cap: f64| SignalRule { points, cap };
        Rules {
            engagement: EngagementRules {
                half_life_days: 30.0,
                window_days: 365,
                saturation: 100.0,
                activities: BTreeMap::from([
                    ("purchase".into(), activity(25.0, 2, 50.0)),
                    ("booking".into(), activity(15.0, 2, 30.0)),
                    ("event_attended".into(), activity(15.0, 1, 30.0)),
                    ("email_clicked".into(), activity(5.0, 3, 20.0)),
                    ("email_opened".into(), activity(2.0, 3, 10.0)),
                    ("page_view".into(), activity(1.0, 5, 10.0)),
                    ("invoice_paid".into(), activity(5.0, 1, 15.0)),
                    ("order_provisioned".into(), activity(10.0, 1, 20.0)),
                    ("interaction".into(), activity(10.0, 2, 30.0)),
                ]),
            },
            churn: ChurnRules {
                period_days: 90,
                default_gap_days: 30.0,
                recency_weight: 50.0,
                recency_full_ratio: 3.0,
                frequency_weight: 20.0,
                spend_weight: 15.0,
                negative: BTreeMap::from([
                    ("support_case_opened".into(), signal(8.0, 16.0)),
                    ("service_suspended".into(), signal(20.0, 20.0)),
                ]),
                opt_out: signal(10.0, 20.0),
            },
        }
    }
}

/// An activity type name as the events API accepts it.
fn is_type(name: &str) -> bool {
    let bytes = name.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

struct Check(Vec<FieldError>);

impl Check {
    fn range(&mut self, field: String, value: f64, min: f64, max: f64) {
        if !value.is_finite() || value < min || value > max {
            self.0.push(FieldError::new(
                field,
                "out_of_range",
                format!("Between {min} and {max}."),
            ));
        }
    }

    fn types<T>(
        &mut self,
        field: &str,
        map: &BTreeMap<String, T>,
        each: impl Fn(&mut Self, &str, &T),
    ) {
        if map.len() > MAX_TYPES {
            self.0.push(FieldError::new(
                field,
                "too_many",
                format!("At most {MAX_TYPES} activity types."),
            ));
        }
        for (name, rule) in map {
            let at = format!("{field}/{}", pointer_escape(name));
            if !is_type(name) {
                self.0.push(FieldError::new(
                    at.clone(),
                    "invalid_type_name",
                    "An activity type: 2–64 lower-case letters, digits and underscores, starting with a letter.",
                ));
            }
            each(self, &at, rule);
        }
    }
}

fn pointer_escape(name: &str) -> String {
    let name: String = name.chars().take(80).collect();
    name.replace('~', "~0").replace('/', "~1")
}

impl Rules {
    /// Every rule broken, each named by its JSON pointer.
    pub fn check(&self) -> Vec<FieldError> {
        let mut check = Check(Vec::new());
        let e = &self.engagement;
        check.range(
            "/engagement/half_life_days".into(),
            e.half_life_days,
            1.0,
            3650.0,
        );
        check.range(
            "/engagement/window_days".into(),
            f64::from(e.window_days),
            1.0,
            1830.0,
        );
        check.range(
            "/engagement/saturation".into(),
            e.saturation,
            1.0,
            100_000.0,
        );
        check.types(
            "/engagement/activities",
            &e.activities,
            |check, at, rule| {
                check.range(format!("{at}/points"), rule.points, 0.0, 1000.0);
                check.range(
                    format!("{at}/max_per_day"),
                    f64::from(rule.max_per_day),
                    1.0,
                    1000.0,
                );
                check.range(format!("{at}/cap"), rule.cap, 0.0, 100_000.0);
            },
        );
        let c = &self.churn;
        check.range(
            "/churn/period_days".into(),
            f64::from(c.period_days),
            7.0,
            365.0,
        );
        check.range(
            "/churn/default_gap_days".into(),
            c.default_gap_days,
            1.0,
            365.0,
        );
        check.range("/churn/recency_weight".into(), c.recency_weight, 0.0, 100.0);
        check.range(
            "/churn/recency_full_ratio".into(),
            c.recency_full_ratio,
            1.5,
            100.0,
        );
        check.range(
            "/churn/frequency_weight".into(),
            c.frequency_weight,
            0.0,
            100.0,
        );
        check.range("/churn/spend_weight".into(), c.spend_weight, 0.0, 100.0);
        let signal = |check: &mut Check, at: &str, rule: &SignalRule| {
            check.range(format!("{at}/points"), rule.points, 0.0, 100.0);
            check.range(format!("{at}/cap"), rule.cap, 0.0, 100.0);
        };
        check.types("/churn/negative", &c.negative, signal);
        signal(&mut check, "/churn/opt_out", &c.opt_out);
        check.0
    }
}

/// A version of a brand's rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmScoreRulesVersion)]
pub struct Versioned {
    /// 0: the built-in defaults (the brand saved none).
    pub version: i32,
    pub rules: Rules,
    /// Who saved it (absent for the defaults).
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

impl Versioned {
    fn defaults() -> Self {
        Versioned {
            version: 0,
            rules: Rules::default(),
            created_by: None,
            created_at: None,
        }
    }
}

/// The brand's rules in force: its newest version, or the defaults. A stored version that no longer
/// parses (a field renamed since) falls back to the defaults with a warning rather than stopping every
/// event of the brand.
pub async fn current(conn: &mut PgConnection, brand_id: Uuid) -> Result<Versioned, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT version, rules, created_by, created_at FROM crm_score_rules
         WHERE brand_id = $1 ORDER BY version DESC LIMIT 1",
        brand_id
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(Versioned::defaults());
    };
    match serde_json::from_value::<Rules>(row.rules) {
        Ok(rules) => Ok(Versioned {
            version: row.version,
            rules,
            created_by: Some(row.created_by),
            created_at: Some(row.created_at),
        }),
        Err(error) => {
            tracing::warn!(%brand_id, version = row.version, %error, "stored score rules do not parse; using the defaults");
            Ok(Versioned::defaults())
        }
    }
}

/// Saves `rules` as the brand's next version. Concurrent saves of one brand queue on an advisory lock, so
/// each gets its own version number.
pub async fn save(
    conn: &mut PgConnection,
    brand_id: Uuid,
    rules: &Rules,
    actor: &str,
) -> anyhow::Result<Versioned> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm_score_rules:' || $1::text, 0))",
        brand_id.to_string()
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        "INSERT INTO crm_score_rules (brand_id, version, rules, created_by)
         SELECT $1, COALESCE(max(version), 0) + 1, $2, $3 FROM crm_score_rules WHERE brand_id = $1
         RETURNING version, created_at",
        brand_id,
        serde_json::to_value(rules)?,
        actor
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Versioned {
        version: row.version,
        rules: rules.clone(),
        created_by: Some(actor.to_owned()),
        created_at: Some(row.created_at),
    })
}

/// Every saved version, newest first.
pub async fn versions(
    conn: &mut PgConnection,
    brand_id: Uuid,
    limit: i64,
) -> Result<Vec<Versioned>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT version, rules, created_by, created_at FROM crm_score_rules
         WHERE brand_id = $1 ORDER BY version DESC LIMIT $2",
        brand_id,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let rules = serde_json::from_value(row.rules).ok()?;
            Some(Versioned {
                version: row.version,
                rules,
                created_by: Some(row.created_by),
                created_at: Some(row.created_at),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_checks() {
        assert!(Rules::default().check().is_empty());
    }

    #[test]
    fn errors_point_into_the_document() {
        let mut rules = Rules::default();
        rules.engagement.half_life_days = 0.0;
        rules.churn.opt_out.cap = f64::NAN;
        rules.engagement.activities.insert(
            "Bad/Type".into(),
            ActivityRule {
                points: 2000.0,
                max_per_day: 0,
                cap: 1.0,
            },
        );
        let fields: Vec<String> = rules.check().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "/engagement/half_life_days",
                "/engagement/activities/Bad~1Type",
                "/engagement/activities/Bad~1Type/points",
                "/engagement/activities/Bad~1Type/max_per_day",
                "/churn/opt_out/cap",
            ]
        );
    }
}
