//! Runs a plan over the store: filter, sort, offset, limit, then shape each record like the REST API does
//! (`attributes`, parent records as nested objects, child subqueries as nested query results).

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::QueryOutcome;
use super::ast::{CompareOp, Literal};
use super::plan::{Column, FieldRef, Filter, Hop, Plan, Terminal};
use crate::salesforce::render::attributes;
use crate::salesforce::schema::{Kind, ObjectDef};
use crate::salesforce::store::{Record, Store, id_of, same_id};
use crate::salesforce::values;

pub fn run(plan: &Plan, store: &Store, version: &str) -> QueryOutcome {
    let rows = select(plan, store, store.records(plan.object).iter());
    if plan.count_only {
        return QueryOutcome {
            total_size: rows.len(),
            records: Vec::new(),
        };
    }
    let records: Vec<Value> = rows
        .into_iter()
        .map(|record| project(plan, store, plan.object, record, version))
        .collect();
    QueryOutcome {
        total_size: records.len(),
        records,
    }
}

/// The candidates that pass the filter, sorted, after `OFFSET` and `LIMIT`.
fn select<'a>(
    plan: &Plan,
    store: &Store,
    candidates: impl Iterator<Item = &'a Record>,
) -> Vec<&'a Record> {
    let mut rows: Vec<&Record> = candidates
        .filter(|record| {
            plan.filter
                .as_ref()
                .is_none_or(|f| matches(f, store, record))
        })
        .collect();
    if !plan.order.is_empty() {
        rows.sort_by(|a, b| {
            plan.order
                .iter()
                .map(|sort| {
                    let kind = sort.field.terminal.kind();
                    let left = scalar(kind, &fetch(store, a, &sort.field));
                    let right = scalar(kind, &fetch(store, b, &sort.field));
                    match (&left, &right) {
                        (Scalar::Null, Scalar::Null) => Ordering::Equal,
                        (Scalar::Null, _) if sort.nulls_last => Ordering::Greater,
                        (Scalar::Null, _) => Ordering::Less,
                        (_, Scalar::Null) if sort.nulls_last => Ordering::Less,
                        (_, Scalar::Null) => Ordering::Greater,
                        _ => {
                            let natural = left.compare(&right).unwrap_or(Ordering::Equal);
                            if sort.descending {
                                natural.reverse()
                            } else {
                                natural
                            }
                        }
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    rows.into_iter()
        .skip(plan.offset)
        .take(plan.limit.unwrap_or(usize::MAX))
        .collect()
}

/// A value normalised for comparison under its field's rules: text case-insensitively, ids exactly (or by
/// their 15-character form).
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Id(String),
    Text(String),
    Number(f64),
    Boolean(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

impl Scalar {
    fn compare(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Id(a), Scalar::Id(b)) if same_id(a, b) || same_id(b, a) => {
                Some(Ordering::Equal)
            }
            (Scalar::Id(a), Scalar::Id(b)) | (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
            (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
            (Scalar::Boolean(a), Scalar::Boolean(b)) => Some(a.cmp(b)),
            (Scalar::Date(a), Scalar::Date(b)) => Some(a.cmp(b)),
            (Scalar::DateTime(a), Scalar::DateTime(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn scalar(kind: Kind, value: &Value) -> Scalar {
    let text = value.as_str();
    match (kind, value) {
        (_, Value::Null) => Scalar::Null,
        (Kind::Id | Kind::Reference(_), _) => {
            text.map_or(Scalar::Null, |t| Scalar::Id(t.to_owned()))
        }
        (Kind::Text | Kind::Email, _) => match value {
            Value::String(s) => Scalar::Text(s.to_lowercase()),
            other => Scalar::Text(other.to_string().to_lowercase()),
        },
        (Kind::Number, _) => values::number_value(value).map_or(Scalar::Null, Scalar::Number),
        (Kind::Boolean, _) => value.as_bool().map_or(Scalar::Null, Scalar::Boolean),
        (Kind::Date, _) => text
            .and_then(values::parse_date)
            .map_or(Scalar::Null, Scalar::Date),
        (Kind::DateTime, _) => text
            .and_then(values::parse_datetime)
            .map_or(Scalar::Null, Scalar::DateTime),
    }
}

fn literal_scalar(kind: Kind, literal: &Literal) -> Scalar {
    match literal {
        Literal::Null => Scalar::Null,
        Literal::Text(text) if matches!(kind, Kind::Id | Kind::Reference(_)) => {
            Scalar::Id(text.clone())
        }
        Literal::Text(text) => Scalar::Text(text.to_lowercase()),
        Literal::Number(n) => Scalar::Number(*n),
        Literal::Boolean(b) => Scalar::Boolean(*b),
        Literal::Date(d) => Scalar::Date(*d),
        Literal::DateTime(at) => Scalar::DateTime(*at),
    }
}

fn matches(filter: &Filter, store: &Store, record: &Record) -> bool {
    match filter {
        Filter::All(terms) => terms.iter().all(|t| matches(t, store, record)),
        Filter::Any(terms) => terms.iter().any(|t| matches(t, store, record)),
        Filter::Not(inner) => !matches(inner, store, record),
        Filter::Compare { field, op, value } => {
            let kind = field.terminal.kind();
            let actual = scalar(kind, &fetch(store, record, field));
            let expected = literal_scalar(kind, value);
            match (&actual, &expected) {
                (Scalar::Null, Scalar::Null) => *op == CompareOp::Eq,
                // SOQL counts a null as different from every value.
                (Scalar::Null, _) | (_, Scalar::Null) => *op == CompareOp::Ne,
                _ => actual.compare(&expected).is_some_and(|ordering| match op {
                    CompareOp::Eq => ordering == Ordering::Equal,
                    CompareOp::Ne => ordering != Ordering::Equal,
                    CompareOp::Lt => ordering == Ordering::Less,
                    CompareOp::Gt => ordering == Ordering::Greater,
                    CompareOp::Le => ordering != Ordering::Greater,
                    CompareOp::Ge => ordering != Ordering::Less,
                }),
            }
        }
        Filter::In {
            field,
            negated,
            values,
        } => {
            let kind = field.terminal.kind();
            let actual = scalar(kind, &fetch(store, record, field));
            let found = values.iter().any(|literal| {
                let expected = literal_scalar(kind, literal);
                match (&actual, &expected) {
                    (Scalar::Null, Scalar::Null) => true,
                    _ => actual.compare(&expected) == Some(Ordering::Equal),
                }
            });
            found != *negated
        }
        Filter::Like { field, pattern } => match fetch(store, record, field) {
            Value::String(text) => like(&text.to_lowercase(), &pattern.to_lowercase()),
            _ => false,
        },
    }
}

/// SOQL `LIKE`: `%` any run, `_` one character, `\%` and `\_` themselves.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Piece {
        Char(char),
        One,
        Any,
    }
    let mut pieces = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pieces.push(match c {
            '\\' => Piece::Char(chars.next().unwrap_or('\\')),
            '%' => Piece::Any,
            '_' => Piece::One,
            c => Piece::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the first i characters of the text match the first j pieces.
    let mut matched = vec![false; pieces.len() + 1];
    matched[0] = true;
    for (j, piece) in pieces.iter().enumerate() {
        matched[j + 1] = matched[j] && *piece == Piece::Any;
    }
    for c in &text {
        let mut next = vec![false; pieces.len() + 1];
        for (j, piece) in pieces.iter().enumerate() {
            next[j + 1] = match piece {
                Piece::Any => next[j] || matched[j + 1],
                Piece::One => matched[j],
                Piece::Char(p) => matched[j] && p == c,
            };
        }
        matched = next;
    }
    matched[pieces.len()]
}

/// The record a lookup points at.
fn follow<'a>(
    store: &'a Store,
    record: &Record,
    hop: &Hop,
) -> Option<(&'static ObjectDef, &'a Record)> {
    let id = record.get(hop.field)?.as_str()?;
    match hop.target {
        Some(target) => store.find(target, id).map(|r| (target, r)),
        None => store.locate(id),
    }
}

fn fetch(store: &Store, record: &Record, field: &FieldRef) -> Value {
    let mut current = record;
    for hop in &field.hops {
        match follow(store, current, hop) {
            Some((_, next)) => current = next,
            None => return Value::Null,
        }
    }
    current
        .get(field.terminal.name())
        .cloned()
        .unwrap_or(Value::Null)
}

fn project(
    plan: &Plan,
    store: &Store,
    object: &ObjectDef,
    record: &Record,
    version: &str,
) -> Value {
    let paths: Vec<(&[Hop], &Terminal)> = plan
        .columns
        .iter()
        .filter_map(|column| match column {
            Column::Field(field) => Some((field.hops.as_slice(), &field.terminal)),
            Column::Children(_) => None,
        })
        .collect();
    let mut out = project_fields(store, object, record, &paths, version);
    for column in &plan.columns {
        let Column::Children(children) = column else {
            continue;
        };
        let candidates = store.records(children.plan.object).iter().filter(|child| {
            child.get(children.field).and_then(Value::as_str) == Some(id_of(record))
        });
        let rows = select(&children.plan, store, candidates);
        let value = if rows.is_empty() {
            Value::Null
        } else {
            let records: Vec<Value> = rows
                .into_iter()
                .map(|child| project(&children.plan, store, children.plan.object, child, version))
                .collect();
            json!({ "totalSize": records.len(), "done": true, "records": records })
        };
        if let Value::Object(out) = &mut out {
            out.insert(children.name.to_owned(), value);
        }
    }
    out
}

/// The selected fields of `record`, following each relationship once for all the fields read through it.
fn project_fields(
    store: &Store,
    object: &ObjectDef,
    record: &Record,
    paths: &[(&[Hop], &Terminal)],
    version: &str,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(version, object.name, id_of(record)),
    );
    for (hops, terminal) in paths {
        match hops.split_first() {
            None => {
                let value = record.get(terminal.name()).cloned().unwrap_or(Value::Null);
                out.insert(terminal.name().to_owned(), value);
            }
            Some((hop, _)) if out.contains_key(hop.relationship) => {}
            Some((hop, _)) => {
                let through_hop: Vec<(&[Hop], &Terminal)> = paths
                    .iter()
                    .filter_map(|(hops, terminal)| match hops.split_first() {
                        Some((first, rest)) if first.relationship == hop.relationship => {
                            Some((rest, *terminal))
                        }
                        _ => None,
                    })
                    .collect();
                let related = follow(store, record, hop).map_or(Value::Null, |(target, parent)| {
                    project_fields(store, target, parent, &through_hop, version)
                });
                out.insert(hop.relationship.to_owned(), related);
            }
        }
    }
    Value::Object(out)
}
