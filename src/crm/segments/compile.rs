//! A validated rule to SQL: one condition over `crm_profiles p`, pushed into a [`QueryBuilder`]. Values are
//! only ever bound; the only identifiers written into the text are the columns of [`BUILTINS`] and this
//! file's literals. Every subquery names the brand, bound.
//!
//! Activity aggregates are `p.id IN (SELECT profile_id … GROUP BY profile_id HAVING …)` so a full refresh
//! hashes one pass over the brand's activities of that type; evaluating one profile (`Scope::One`) correlates
//! the subqueries with `p.id` instead, so the hook reads that profile's rows only.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::rule::{
    Aggregate, BUILTINS, ConsentIs, Field, Measure, Node, NumCmp, Op, PropertyFilter, Scalar,
    TimeCmp, ValueType,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every profile of the brand.
    All,
    /// The one profile `p` the outer query selects.
    One,
}

#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub brand_id: Uuid,
    pub now: DateTime<Utc>,
    pub scope: Scope,
}

/// Pushes `SELECT p.id FROM crm_profiles p WHERE p.brand_id = $ AND live AND (rule)`.
pub fn members_query(qb: &mut QueryBuilder<Postgres>, node: &Node, ctx: &Ctx) {
    qb.push("SELECT p.id FROM crm_profiles p WHERE p.brand_id = ");
    qb.push_bind(ctx.brand_id);
    // Erased profiles (`crm::erasure`) never count again, whatever their kept counters say.
    qb.push(" AND p.merged_into IS NULL AND p.erased_at IS NULL AND ");
    condition(qb, node, ctx, false);
}

/// Pushes the rule's condition over `p`, used only in a `WHERE` clause. `negated` says whether a `not` is
/// above: there a NULL leaf would turn `not` into something other than the complement, so a leaf that can be
/// NULL (an attribute comparison over a missing value) is wrapped in `coalesce(…, false)`. Everywhere else
/// NULL already means "not a member" under `AND`/`OR`, and the other leaves (`EXISTS`, `p.id IN (…)` over
/// a NOT NULL column) are never NULL: left bare, the planner can turn them into semi-joins and use an index
/// on an attribute, which the wrapper prevented (2.5 s previews, 5.5 s refreshes on 1M profiles).
fn condition(qb: &mut QueryBuilder<Postgres>, node: &Node, ctx: &Ctx, negated: bool) {
    match node {
        Node::All(children) | Node::Any(children) => {
            let joint = if matches!(node, Node::All(_)) {
                " AND "
            } else {
                " OR "
            };
            qb.push("(");
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    qb.push(joint);
                }
                condition(qb, child, ctx, negated);
            }
            qb.push(")");
        }
        Node::Not(inner) => {
            qb.push("NOT ");
            condition(qb, inner, ctx, true);
        }
        leaf => {
            let nullable = negated && matches!(leaf, Node::Attribute { .. });
            qb.push(if nullable { "coalesce((" } else { "(" });
            match leaf {
                Node::Attribute { field, op } => attribute(qb, field, op, ctx),
                Node::Activity {
                    kind,
                    filters,
                    within_days,
                    measure,
                } => activity(qb, kind, filters, *within_days, measure, ctx),
                Node::Consent {
                    channel,
                    purpose,
                    is,
                } => {
                    qb.push(if *is == ConsentIs::Unknown {
                        "NOT EXISTS"
                    } else {
                        "EXISTS"
                    });
                    qb.push(" (SELECT 1 FROM crm_consents c WHERE c.profile_id = p.id AND c.brand_id = ");
                    qb.push_bind(ctx.brand_id);
                    qb.push(" AND c.channel = ");
                    qb.push_bind(channel.as_str());
                    qb.push(" AND c.purpose = ");
                    qb.push_bind(purpose.as_str());
                    match is {
                        ConsentIs::Granted => qb.push(" AND c.status = 'granted'"),
                        ConsentIs::Denied => qb.push(" AND c.status = 'denied'"),
                        ConsentIs::Unknown => qb.push(""),
                    };
                    qb.push(" AND (c.expires_at IS NULL OR c.expires_at > ");
                    qb.push_bind(ctx.now);
                    qb.push("))");
                }
                Node::Score { score, cmp } => {
                    qb.push("EXISTS (SELECT 1 FROM crm_scores s WHERE s.profile_id = p.id AND s.brand_id = ");
                    qb.push_bind(ctx.brand_id);
                    qb.push(" AND s.score = ");
                    qb.push_bind(score.as_str());
                    qb.push(" AND ");
                    num_cmp(qb, "s.value", cmp);
                    qb.push(")");
                }
                Node::Segment { id, member } => {
                    if !member {
                        qb.push("NOT ");
                    }
                    qb.push("EXISTS (SELECT 1 FROM crm_segment_members m WHERE m.profile_id = p.id AND m.segment_id = ");
                    qb.push_bind(*id);
                    qb.push(" AND m.brand_id = ");
                    qb.push_bind(ctx.brand_id);
                    qb.push(")");
                }
                Node::All(_) | Node::Any(_) | Node::Not(_) => {}
            }
            qb.push(if nullable { "), false)" } else { ")" });
        }
    }
}

/// The column of a built-in (from the allow-list) or the typed expression of a custom attribute.
fn field_expr(qb: &mut QueryBuilder<Postgres>, field: &Field) {
    if !field.custom {
        let column = BUILTINS
            .iter()
            .find(|(name, _, _)| *name == field.name)
            .map_or("NULL", |(_, column, _)| *column);
        qb.push(column);
        return;
    }
    if field.kind == ValueType::List {
        qb.push("(p.custom -> ");
        qb.push_bind(field.name.as_str());
        qb.push(")");
        return;
    }
    qb.push("(p.custom ->> ");
    qb.push_bind(field.name.as_str());
    qb.push(")");
    qb.push(cast(field.kind));
}

fn cast(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Number => "::numeric",
        ValueType::Boolean => "::boolean",
        ValueType::Date => "::date",
        ValueType::Datetime => "::timestamptz",
        ValueType::Text | ValueType::List => "",
    }
}

fn bind_scalar(qb: &mut QueryBuilder<Postgres>, value: &Scalar) {
    match value {
        Scalar::Text(text) => qb.push_bind(text.as_str()),
        Scalar::Number(number) => qb.push_bind(number.as_str()).push("::numeric"),
        Scalar::Boolean(flag) => qb.push_bind(*flag),
        Scalar::Date(date) => qb.push_bind(*date),
        Scalar::Datetime(at) => qb.push_bind(*at),
    };
}

fn texts(values: &[Scalar]) -> Vec<String> {
    values
        .iter()
        .map(|value| match value {
            Scalar::Text(text) | Scalar::Number(text) => text.clone(),
            Scalar::Boolean(flag) => flag.to_string(),
            Scalar::Date(date) => date.to_string(),
            Scalar::Datetime(at) => at.to_rfc3339(),
        })
        .collect()
}

/// `LIKE` text matching `text` literally.
fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

fn ago(ctx: &Ctx, days: u32) -> DateTime<Utc> {
    ctx.now - Duration::days(i64::from(days))
}

fn attribute(qb: &mut QueryBuilder<Postgres>, field: &Field, op: &Op, ctx: &Ctx) {
    let list = field.kind == ValueType::List;
    let jsonb_list = list && field.custom;
    match op {
        Op::Exists | Op::Missing => {
            if op == &Op::Missing {
                qb.push("NOT ");
            }
            if list && !field.custom {
                qb.push("cardinality(p.tags) > 0");
            } else if field.custom {
                qb.push("(p.custom -> ");
                qb.push_bind(field.name.as_str());
                qb.push(") IS NOT NULL");
            } else {
                field_expr(qb, field);
                qb.push(" IS NOT NULL");
            }
        }
        Op::Contains(text) if list => {
            field_expr(qb, field);
            if jsonb_list {
                qb.push(" @> jsonb_build_array(");
                qb.push_bind(text.as_str());
                qb.push("::text)");
            } else {
                qb.push(" @> ARRAY[");
                qb.push_bind(text.as_str());
                qb.push("]::text[]");
            }
        }
        Op::In(values) | Op::NotIn(values) if list => {
            if matches!(op, Op::NotIn(_)) {
                qb.push("NOT ");
            }
            field_expr(qb, field);
            qb.push(if jsonb_list { " ?| " } else { " && " });
            qb.push_bind(texts(values));
            qb.push("::text[]");
        }
        _ => value_op(qb, |qb| field_expr(qb, field), field.kind, op, ctx),
    }
}

/// A comparison of a scalar expression (pushed by `expr`) of type `kind`.
fn value_op(
    qb: &mut QueryBuilder<Postgres>,
    expr: impl Fn(&mut QueryBuilder<Postgres>),
    kind: ValueType,
    op: &Op,
    ctx: &Ctx,
) {
    match op {
        Op::Cmp(cmp, value) => {
            expr(qb);
            qb.push(cmp.sql());
            bind_scalar(qb, value);
        }
        Op::Between(low, high) => {
            expr(qb);
            qb.push(" BETWEEN ");
            bind_scalar(qb, low);
            qb.push(" AND ");
            bind_scalar(qb, high);
        }
        Op::In(values) | Op::NotIn(values) => {
            if matches!(op, Op::NotIn(_)) {
                qb.push("NOT ");
            }
            qb.push("(");
            expr(qb);
            qb.push(" = ANY(");
            qb.push_bind(texts(values));
            qb.push(if kind == ValueType::Number {
                "::numeric[]))"
            } else {
                "::text[]))"
            });
        }
        Op::Contains(text) | Op::StartsWith(text) | Op::EndsWith(text) => {
            let pattern = match op {
                Op::Contains(_) => format!("%{}%", like_literal(text)),
                Op::StartsWith(_) => format!("{}%", like_literal(text)),
                _ => format!("%{}", like_literal(text)),
            };
            qb.push("lower(");
            expr(qb);
            qb.push(") LIKE ");
            qb.push_bind(pattern);
        }
        Op::WithinLastDays(days) | Op::MoreThanDaysAgo(days) => {
            let since = ago(ctx, *days);
            expr(qb);
            qb.push(if matches!(op, Op::WithinLastDays(_)) {
                " >= "
            } else {
                " < "
            });
            if kind == ValueType::Date {
                qb.push_bind(since.date_naive());
            } else {
                qb.push_bind(since);
            }
        }
        Op::Exists | Op::Missing => {
            expr(qb);
            qb.push(if op == &Op::Exists {
                " IS NOT NULL"
            } else {
                " IS NULL"
            });
        }
    }
}

fn num_cmp(qb: &mut QueryBuilder<Postgres>, expr: &str, cmp: &NumCmp) {
    qb.push(expr.to_owned());
    match cmp {
        NumCmp::Cmp(cmp, value) => {
            qb.push(cmp.sql());
            qb.push_bind(value.as_str());
            qb.push("::numeric");
        }
        NumCmp::Between(low, high) => {
            qb.push(" BETWEEN ");
            qb.push_bind(low.as_str());
            qb.push("::numeric AND ");
            qb.push_bind(high.as_str());
            qb.push("::numeric");
        }
    }
}

/// A property of the activity as a number: JSON numbers and decimal strings (amounts are sent as either);
/// anything else is NULL, never a cast error.
fn property_number(qb: &mut QueryBuilder<Postgres>, property: &str) {
    qb.push("(CASE WHEN (a.properties ->> ");
    qb.push_bind(property);
    qb.push(") ~ '^-?[0-9]{1,20}(\\.[0-9]{1,20})?$' THEN (a.properties ->> ");
    qb.push_bind(property);
    qb.push(")::numeric END)");
}

fn filter(qb: &mut QueryBuilder<Postgres>, filter: &PropertyFilter, ctx: &Ctx) {
    let number = match &filter.op {
        Op::Cmp(_, Scalar::Number(_)) | Op::Between(Scalar::Number(_), _) => true,
        Op::In(values) | Op::NotIn(values) => matches!(values.first(), Some(Scalar::Number(_))),
        _ => false,
    };
    let property = filter.property.as_str();
    qb.push(" AND coalesce((");
    match &filter.op {
        Op::Exists | Op::Missing => {
            qb.push("(a.properties -> ");
            qb.push_bind(property);
            qb.push(if filter.op == Op::Exists {
                ") IS NOT NULL"
            } else {
                ") IS NULL"
            });
        }
        Op::Cmp(cmp, Scalar::Boolean(flag)) => {
            qb.push("(a.properties -> ");
            qb.push_bind(property);
            qb.push(if *cmp == super::rule::Cmp::Neq {
                ") <> to_jsonb("
            } else {
                ") = to_jsonb("
            });
            qb.push_bind(*flag);
            qb.push(")");
        }
        op if number => value_op(
            qb,
            |qb| property_number(qb, property),
            ValueType::Number,
            op,
            ctx,
        ),
        op => value_op(
            qb,
            |qb| {
                qb.push("(a.properties ->> ");
                qb.push_bind(property);
                qb.push(")");
            },
            ValueType::Text,
            op,
            ctx,
        ),
    }
    qb.push("), false)");
}

fn time_cmp(qb: &mut QueryBuilder<Postgres>, expr: &str, cmp: &TimeCmp, ctx: &Ctx) {
    qb.push(expr.to_owned());
    match cmp {
        TimeCmp::WithinLastDays(days) => qb.push(" >= ").push_bind(ago(ctx, *days)),
        TimeCmp::MoreThanDaysAgo(days) => qb.push(" < ").push_bind(ago(ctx, *days)),
        TimeCmp::Before(at) => qb.push(" < ").push_bind(*at),
        TimeCmp::After(at) => qb.push(" > ").push_bind(*at),
    };
}

fn activity(
    qb: &mut QueryBuilder<Postgres>,
    kind: &str,
    filters: &[PropertyFilter],
    within_days: Option<u32>,
    measure: &Measure,
    ctx: &Ctx,
) {
    // A count that zero satisfies (`lt 2`) matches profiles without any such activity: the complement of
    // those whose count fails it.
    let complement = matches!(measure, Measure::Count(cmp) if cmp.holds_for_zero());
    let plain_exists =
        matches!(measure, Measure::Count(NumCmp::Cmp(super::rule::Cmp::Gte, n)) if n == "1");
    qb.push(if complement {
        "p.id NOT IN "
    } else {
        "p.id IN "
    });
    qb.push("(SELECT a.profile_id FROM crm_activities a WHERE a.brand_id = ");
    qb.push_bind(ctx.brand_id);
    qb.push(" AND a.type = ");
    qb.push_bind(kind);
    if ctx.scope == Scope::One {
        qb.push(" AND a.profile_id = p.id");
    }
    if let Some(days) = within_days {
        qb.push(" AND a.occurred_at >= ");
        qb.push_bind(ago(ctx, days));
    }
    for item in filters {
        filter(qb, item, ctx);
    }
    if plain_exists {
        qb.push(")");
        return;
    }
    qb.push(" GROUP BY a.profile_id HAVING ");
    if complement {
        qb.push("NOT (");
    }
    match measure {
        Measure::Count(cmp) => num_cmp(qb, "count(*)", cmp),
        Measure::Of {
            aggregate,
            property,
            cmp,
        } => {
            qb.push(match aggregate {
                Aggregate::Sum => "sum(",
                Aggregate::Avg => "avg(",
                Aggregate::Max => "max(",
            });
            property_number(qb, property);
            qb.push(")");
            num_cmp(qb, "", cmp);
        }
        Measure::First(cmp) => time_cmp(qb, "min(a.occurred_at)", cmp, ctx),
        Measure::Last(cmp) => time_cmp(qb, "max(a.occurred_at)", cmp, ctx),
    }
    if complement {
        qb.push(")");
    }
    qb.push(")");
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::crm::custom::AttributeType;
    use crate::crm::segments::rule::{Catalogue, parse};

    fn sql(rule: serde_json::Value) -> String {
        let catalogue = Catalogue {
            custom: HashMap::from([("boutique".to_owned(), AttributeType::String)]),
            segments: HashMap::new(),
        };
        let (node, _) = parse(&rule, &catalogue).expect("valid");
        let ctx = Ctx {
            brand_id: Uuid::nil(),
            now: Utc::now(),
            scope: Scope::All,
        };
        let mut qb = QueryBuilder::new("");
        members_query(&mut qb, &node, &ctx);
        qb.sql().as_str().to_owned()
    }

    #[test]
    fn values_and_custom_names_are_bound_never_written() {
        let text = sql(json!({"all": [
            {"attribute": "tier", "op": "eq", "value": "gold'; DROP TABLE crm_profiles; --"},
            {"attribute": "boutique", "op": "in", "value": ["x') OR true --"]},
            {"activity": "purchase", "where": {"property": "store", "op": "eq", "value": "x') OR 1=1 --"}},
        ]}));
        assert!(!text.contains("DROP"), "{text}");
        assert!(
            !text.contains("OR true") && !text.contains("OR 1=1"),
            "{text}"
        );
        assert!(text.contains("p.tier = $2"), "{text}");
        assert!(text.contains("p.custom ->> $3"), "{text}");
    }

    #[test]
    fn the_brand_is_bound_in_every_subquery() {
        let text = sql(json!({"any": [
            {"activity": "booking", "count": {"gte": 2}, "within": {"days": 30}},
            {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"},
            {"score": "churn_risk", "op": "gte", "value": 80},
        ]}));
        assert_eq!(text.matches("brand_id = $").count(), 4, "{text}");
    }

    #[test]
    fn a_count_that_zero_satisfies_is_a_complement() {
        let text = sql(json!({"activity": "booking", "count": {"lt": 2}}));
        assert!(text.contains("p.id NOT IN"), "{text}");
        assert!(text.contains("HAVING NOT (count(*) < $"), "{text}");
    }

    #[test]
    fn only_attribute_leaves_under_a_not_are_wrapped_so_the_rest_stay_plannable() {
        let plain = sql(json!({"all": [
            {"attribute": "tier", "op": "in", "value": ["gold", "platinum"]},
            {"activity": "purchase", "count": {"gte": 1}, "within": {"days": 30}},
            {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"},
        ]}));
        assert!(!plain.contains("coalesce"), "{plain}");
        assert!(plain.contains("(p.tier = ANY("), "{plain}");
        let negated = sql(json!({"not": {"any": [
            {"attribute": "tier", "op": "eq", "value": "gold"},
            {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"},
        ]}}));
        assert!(negated.contains("NOT (coalesce((p.tier = $"), "{negated}");
        assert_eq!(negated.matches("coalesce").count(), 1, "{negated}");
    }

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
    }
}
