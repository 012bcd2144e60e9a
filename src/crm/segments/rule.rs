//! The rule language: a JSON tree (`all`, `any`, `not` and leaves) parsed by hand, so that every error names
//! its place in the tree (`/all/1/value`), and validated against the brand's attribute catalogue. The result
//! is a [`Node`] with every name resolved (attribute types, segment ids), which is what is stored and compiled.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::crm::consent::{Channel, Purpose};
use crate::crm::custom::AttributeType;
use crate::errors::FieldError;

pub const MAX_DEPTH: usize = 8;
pub const MAX_LEAVES: usize = 50;
pub const MAX_LIST: usize = 1000;
const MAX_TEXT: usize = 1000;
const MAX_DAYS: u64 = 3650;

/// What a value is compared as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Text,
    Number,
    Boolean,
    Date,
    Datetime,
    List,
}

impl ValueType {
    fn name(self) -> &'static str {
        match self {
            ValueType::Text => "a string",
            ValueType::Number => "a number",
            ValueType::Boolean => "a boolean",
            ValueType::Date => "a date (YYYY-MM-DD)",
            ValueType::Datetime => "an RFC 3339 date and time",
            ValueType::List => "a string",
        }
    }
}

/// The built-in attributes a rule may name: (name, column, type). The only column names a rule reaches.
pub const BUILTINS: &[(&str, &str, ValueType)] = &[
    ("first_name", "p.first_name", ValueType::Text),
    ("last_name", "p.last_name", ValueType::Text),
    ("email", "p.email", ValueType::Text),
    ("phone", "p.phone", ValueType::Text),
    ("birthday", "p.birthday", ValueType::Date),
    ("locale", "p.locale", ValueType::Text),
    ("country", "p.country::text", ValueType::Text),
    ("city", "p.city", ValueType::Text),
    ("tier", "p.tier", ValueType::Text),
    ("tags", "p.tags", ValueType::List),
    ("lifetime_value", "p.lifetime_value", ValueType::Number),
    (
        "first_activity_at",
        "p.first_activity_at",
        ValueType::Datetime,
    ),
    (
        "last_activity_at",
        "p.last_activity_at",
        ValueType::Datetime,
    ),
    ("first_seen_at", "p.first_seen_at", ValueType::Datetime),
];

/// The built-ins every event may change (the counters), rather than only traits.
const COUNTERS: &[&str] = &["lifetime_value", "first_activity_at", "last_activity_at"];

pub const SCORES: &[&str] = &["engagement", "churn_risk"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => " = ",
            Cmp::Neq => " <> ",
            Cmp::Gt => " > ",
            Cmp::Gte => " >= ",
            Cmp::Lt => " < ",
            Cmp::Lte => " <= ",
        }
    }

    fn parse(op: &str) -> Option<Cmp> {
        Some(match op {
            "eq" => Cmp::Eq,
            "neq" => Cmp::Neq,
            "gt" => Cmp::Gt,
            "gte" => Cmp::Gte,
            "lt" => Cmp::Lt,
            "lte" => Cmp::Lte,
            _ => return None,
        })
    }

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Neq => a != b,
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        }
    }
}

/// A validated value. Numbers stay decimal strings and are bound as `numeric`, never as floats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scalar {
    Text(String),
    Number(String),
    Boolean(bool),
    Date(NaiveDate),
    Datetime(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Cmp(Cmp, Scalar),
    Between(Scalar, Scalar),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Exists,
    Missing,
    WithinLastDays(u32),
    MoreThanDaysAgo(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub custom: bool,
    pub kind: ValueType,
}

/// A comparison of a number (a count, a sum, a score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumCmp {
    Cmp(Cmp, String),
    Between(String, String),
}

impl NumCmp {
    /// Whether zero satisfies it (then "no activity at all" matches a count).
    pub fn holds_for_zero(&self) -> bool {
        let num = |text: &str| text.parse::<f64>().unwrap_or(f64::NAN);
        match self {
            NumCmp::Cmp(cmp, value) => cmp.holds(0.0, num(value)),
            NumCmp::Between(low, high) => num(low) <= 0.0 && 0.0 <= num(high),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeCmp {
    WithinLastDays(u32),
    MoreThanDaysAgo(u32),
    Before(DateTime<Utc>),
    After(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Sum,
    Avg,
    Max,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Count(NumCmp),
    Of {
        aggregate: Aggregate,
        property: String,
        cmp: NumCmp,
    },
    First(TimeCmp),
    Last(TimeCmp),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFilter {
    pub property: String,
    pub op: Op,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentIs {
    Granted,
    Denied,
    Unknown,
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Attribute {
        field: Field,
        op: Op,
    },
    Activity {
        kind: String,
        filters: Vec<PropertyFilter>,
        within_days: Option<u32>,
        measure: Measure,
    },
    Consent {
        channel: Channel,
        purpose: Purpose,
        is: ConsentIs,
    },
    Score {
        score: String,
        cmp: NumCmp,
    },
    Segment {
        id: Uuid,
        member: bool,
    },
}

/// What a rule depends on, found while parsing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// `event:<type>`, `traits` or `*`.
    pub triggers: BTreeSet<String>,
    pub segments: BTreeSet<Uuid>,
    pub time_based: bool,
}

/// What a rule is checked against: the brand's custom attributes and its segments (slug → id).
pub struct Catalogue {
    pub custom: HashMap<String, AttributeType>,
    pub segments: HashMap<String, Uuid>,
}

/// Parses and validates `rule`; every error, each with its path.
pub fn parse(rule: &Value, catalogue: &Catalogue) -> Result<(Node, Dependencies), Vec<FieldError>> {
    let mut parser = Parser {
        catalogue,
        errors: Vec::new(),
        leaves: 0,
        deps: Dependencies::default(),
    };
    let node = parser.node(rule, "", 1);
    if parser.leaves > MAX_LEAVES {
        parser.errors.push(FieldError::new(
            "/",
            "too_many_leaves",
            format!("At most {MAX_LEAVES} conditions in a rule."),
        ));
    }
    match node {
        Some(node) if parser.errors.is_empty() => Ok((node, parser.deps)),
        _ => Err(parser.errors),
    }
}

struct Parser<'c> {
    catalogue: &'c Catalogue,
    errors: Vec<FieldError>,
    leaves: usize,
    deps: Dependencies,
}

fn at(path: &str, key: impl std::fmt::Display) -> String {
    format!("{path}/{key}")
}

impl Parser<'_> {
    fn fail(&mut self, path: &str, code: &str, message: impl Into<String>) {
        let path = if path.is_empty() { "/" } else { path };
        self.errors.push(FieldError::new(path, code, message));
    }

    /// An object's keys, refusing any not in `allowed`.
    fn keys<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(object) = value.as_object() else {
            self.fail(path, "invalid_type", "Expected an object.");
            return None;
        };
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.fail(
                    &at(path, key),
                    "unknown_field",
                    format!("Not expected here; use {}.", allowed.join(", ")),
                );
            }
        }
        Some(object)
    }

    fn node(&mut self, value: &Value, path: &str, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            self.fail(
                path,
                "too_deep",
                format!("Rules nest at most {MAX_DEPTH} levels."),
            );
            return None;
        }
        let Some(object) = value.as_object() else {
            self.fail(path, "invalid_type", "Expected an object.");
            return None;
        };
        for (key, build) in [("all", Node::All as fn(_) -> _), ("any", Node::Any)] {
            if object.contains_key(key) {
                self.keys(value, path, &[key])?;
                let path = at(path, key);
                let Some(items) = object[key].as_array().filter(|items| !items.is_empty()) else {
                    self.fail(
                        &path,
                        "invalid_type",
                        "Expected a non-empty array of rules.",
                    );
                    return None;
                };
                let children: Vec<Option<Node>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.node(item, &at(&path, i), depth + 1))
                    .collect();
                return children.into_iter().collect::<Option<Vec<_>>>().map(build);
            }
        }
        if let Some(inner) = object.get("not") {
            self.keys(value, path, &["not"])?;
            let inner = self.node(inner, &at(path, "not"), depth + 1)?;
            return Some(Node::Not(Box::new(inner)));
        }
        self.leaves += 1;
        if object.contains_key("attribute") {
            self.attribute(value, path)
        } else if object.contains_key("activity") {
            self.activity(value, path)
        } else if object.contains_key("consent") {
            self.consent(value, path)
        } else if object.contains_key("score") {
            self.score(value, path)
        } else if object.contains_key("segment") {
            self.segment(value, path)
        } else {
            self.fail(
                path,
                "unknown_rule",
                "Expected all, any, not, or a leaf: attribute, activity, consent, score or segment.",
            );
            None
        }
    }

    fn attribute(&mut self, value: &Value, path: &str) -> Option<Node> {
        let object = self.keys(value, path, &["attribute", "op", "value"])?;
        let Some(name) = object["attribute"].as_str() else {
            self.fail(&at(path, "attribute"), "invalid_type", "Expected a string.");
            return None;
        };
        let field = if let Some((name, _, kind)) = BUILTINS.iter().find(|(n, _, _)| *n == name) {
            Field {
                name: (*name).to_owned(),
                custom: false,
                kind: *kind,
            }
        } else if let Some(kind) = self.catalogue.custom.get(name) {
            Field {
                name: name.to_owned(),
                custom: true,
                kind: match kind {
                    AttributeType::String => ValueType::Text,
                    AttributeType::Number => ValueType::Number,
                    AttributeType::Boolean => ValueType::Boolean,
                    AttributeType::Date => ValueType::Date,
                    AttributeType::Datetime => ValueType::Datetime,
                    AttributeType::StringList => ValueType::List,
                },
            }
        } else {
            self.fail(
                &at(path, "attribute"),
                "unknown_attribute",
                "Neither a built-in attribute nor one the brand declares.",
            );
            return None;
        };
        let op = self.op(object, path, field.kind)?;
        let trigger = if !field.custom && COUNTERS.contains(&field.name.as_str()) {
            "*"
        } else {
            "traits"
        };
        self.deps.triggers.insert(trigger.to_owned());
        if matches!(op, Op::WithinLastDays(_) | Op::MoreThanDaysAgo(_)) {
            self.deps.time_based = true;
        }
        Some(Node::Attribute { field, op })
    }

    /// `op` and `value` of a comparison on a value of `kind`.
    fn op(&mut self, object: &Map<String, Value>, path: &str, kind: ValueType) -> Option<Op> {
        let op_path = at(path, "op");
        let value_path = at(path, "value");
        let Some(op) = object.get("op").and_then(Value::as_str) else {
            self.fail(&op_path, "required", "Name an operator.");
            return None;
        };
        let allowed: &[&str] = match kind {
            ValueType::Text => &[
                "eq",
                "neq",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "in",
                "not_in",
                "contains",
                "starts_with",
                "ends_with",
                "exists",
                "missing",
            ],
            ValueType::Number => &[
                "eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in", "exists",
                "missing",
            ],
            ValueType::Boolean => &["eq", "neq", "exists", "missing"],
            ValueType::Date | ValueType::Datetime => &[
                "eq",
                "neq",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "within_last",
                "more_than_ago",
                "exists",
                "missing",
            ],
            ValueType::List => &["contains", "in", "not_in", "exists", "missing"],
        };
        if !allowed.contains(&op) {
            self.fail(
                &op_path,
                "invalid_operator",
                format!("For this attribute use one of: {}.", allowed.join(", ")),
            );
            return None;
        }
        let value = object.get("value");
        if matches!(op, "exists" | "missing") {
            if value.is_some() {
                self.fail(&value_path, "not_allowed", "This operator takes no value.");
                return None;
            }
            return Some(if op == "exists" {
                Op::Exists
            } else {
                Op::Missing
            });
        }
        let Some(value) = value else {
            self.fail(&value_path, "required", "This operator needs a value.");
            return None;
        };
        let scalar_kind = if kind == ValueType::List {
            ValueType::Text
        } else {
            kind
        };
        Some(match op {
            "within_last" | "more_than_ago" => {
                let days = self.days(value, &value_path)?;
                if op == "within_last" {
                    Op::WithinLastDays(days)
                } else {
                    Op::MoreThanDaysAgo(days)
                }
            }
            "between" => {
                let pair = value.as_array().filter(|pair| pair.len() == 2);
                let Some(pair) = pair else {
                    self.fail(&value_path, "invalid_type", "Expected [low, high].");
                    return None;
                };
                let low = self.scalar(&pair[0], &at(&value_path, 0), scalar_kind);
                let high = self.scalar(&pair[1], &at(&value_path, 1), scalar_kind);
                Op::Between(low?, high?)
            }
            "in" | "not_in" => {
                let list = value
                    .as_array()
                    .filter(|list| !list.is_empty() && list.len() <= MAX_LIST);
                let Some(list) = list else {
                    self.fail(
                        &value_path,
                        "invalid_type",
                        format!("Expected an array of 1–{MAX_LIST} values."),
                    );
                    return None;
                };
                let items: Vec<Option<Scalar>> = list
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.scalar(item, &at(&value_path, i), scalar_kind))
                    .collect();
                let items = items.into_iter().collect::<Option<Vec<_>>>()?;
                if op == "in" {
                    Op::In(items)
                } else {
                    Op::NotIn(items)
                }
            }
            "contains" | "starts_with" | "ends_with" => {
                let Scalar::Text(text) = self.scalar(value, &value_path, ValueType::Text)? else {
                    return None;
                };
                match op {
                    "contains" => Op::Contains(text),
                    "starts_with" => Op::StartsWith(text),
                    _ => Op::EndsWith(text),
                }
            }
            _ => {
                let cmp = Cmp::parse(op)?;
                Op::Cmp(cmp, self.scalar(value, &value_path, scalar_kind)?)
            }
        })
    }

    fn scalar(&mut self, value: &Value, path: &str, kind: ValueType) -> Option<Scalar> {
        let parsed = match (kind, value) {
            (ValueType::Text | ValueType::List, Value::String(text))
                if !text.is_empty()
                    && text.chars().count() <= MAX_TEXT
                    && !text.chars().any(char::is_control) =>
            {
                Some(Scalar::Text(text.clone()))
            }
            (ValueType::Number, Value::Number(number)) => {
                number.as_f64().map(|_| Scalar::Number(number.to_string()))
            }
            (ValueType::Boolean, Value::Bool(flag)) => Some(Scalar::Boolean(*flag)),
            (ValueType::Date, Value::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(Scalar::Date),
            (ValueType::Datetime, Value::String(text)) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| Scalar::Datetime(at.with_timezone(&Utc))),
            _ => None,
        };
        if parsed.is_none() {
            let message = match kind {
                ValueType::Text | ValueType::List => {
                    format!(
                        "Expected a string of 1–{MAX_TEXT} characters without control characters."
                    )
                }
                _ => format!("Expected {}.", kind.name()),
            };
            self.fail(path, "invalid_value", message);
        }
        parsed
    }

    /// `{"days": n}`.
    fn days(&mut self, value: &Value, path: &str) -> Option<u32> {
        self.keys(value, path, &["days"])?;
        let days = value
            .get("days")
            .and_then(Value::as_u64)
            .filter(|days| (1..=MAX_DAYS).contains(days));
        if days.is_none() {
            self.fail(
                &at(path, "days"),
                "invalid_value",
                format!("Expected a whole number of days, 1–{MAX_DAYS}."),
            );
        }
        days.and_then(|days| u32::try_from(days).ok())
    }

    /// `{"gte": 2}` or `{"between": [1, 5]}`, with `extra` keys allowed beside it.
    fn num_cmp(&mut self, value: &Value, path: &str, extra: &[&str]) -> Option<NumCmp> {
        let mut allowed = vec!["eq", "neq", "gt", "gte", "lt", "lte", "between"];
        allowed.extend_from_slice(extra);
        let object = self.keys(value, path, &allowed)?;
        let ops: Vec<&String> = object
            .keys()
            .filter(|key| !extra.contains(&key.as_str()))
            .collect();
        let [op] = ops.as_slice() else {
            self.fail(
                path,
                "invalid_value",
                "Expected exactly one comparison, e.g. {\"gte\": 2}.",
            );
            return None;
        };
        let op_path = at(path, op);
        let number = |parser: &mut Self, value: &Value, path: &str| match parser.scalar(
            value,
            path,
            ValueType::Number,
        )? {
            Scalar::Number(number) => Some(number),
            _ => None,
        };
        if op.as_str() == "between" {
            let pair = object[*op].as_array().filter(|pair| pair.len() == 2);
            let Some(pair) = pair else {
                self.fail(&op_path, "invalid_type", "Expected [low, high].");
                return None;
            };
            let low = number(self, &pair[0], &at(&op_path, 0));
            let high = number(self, &pair[1], &at(&op_path, 1));
            return Some(NumCmp::Between(low?, high?));
        }
        let cmp = Cmp::parse(op)?;
        Some(NumCmp::Cmp(cmp, number(self, &object[*op], &op_path)?))
    }

    fn time_cmp(&mut self, value: &Value, path: &str) -> Option<TimeCmp> {
        let object = self.keys(
            value,
            path,
            &["within_last", "more_than_ago", "before", "after"],
        )?;
        let [(op, inner)] = object.iter().collect::<Vec<_>>()[..] else {
            self.fail(
                path,
                "invalid_value",
                "Expected one of within_last, more_than_ago, before, after.",
            );
            return None;
        };
        let op_path = at(path, op);
        Some(match op.as_str() {
            "within_last" => TimeCmp::WithinLastDays(self.days(inner, &op_path)?),
            "more_than_ago" => TimeCmp::MoreThanDaysAgo(self.days(inner, &op_path)?),
            _ => {
                let Scalar::Datetime(at) = self.scalar(inner, &op_path, ValueType::Datetime)?
                else {
                    return None;
                };
                if op == "before" {
                    TimeCmp::Before(at)
                } else {
                    TimeCmp::After(at)
                }
            }
        })
    }

    fn activity(&mut self, value: &Value, path: &str) -> Option<Node> {
        let measures = ["count", "sum", "avg", "max", "first", "last"];
        let mut allowed = vec!["activity", "where", "within"];
        allowed.extend_from_slice(&measures);
        let object = self.keys(value, path, &allowed)?;
        let kind = object["activity"].as_str().filter(|kind| is_type(kind));
        let Some(kind) = kind else {
            self.fail(
                &at(path, "activity"),
                "invalid_value",
                "Expected an activity type, e.g. purchase.",
            );
            return None;
        };
        let within_days = match object.get("within") {
            Some(within) => Some(self.days(within, &at(path, "within"))?),
            None => None,
        };
        let filters = match object.get("where") {
            Some(filters) => self.filters(filters, &at(path, "where"))?,
            None => Vec::new(),
        };
        let named: Vec<&str> = measures
            .iter()
            .copied()
            .filter(|m| object.contains_key(*m))
            .collect();
        let measure = match named.as_slice() {
            [] => Measure::Count(NumCmp::Cmp(Cmp::Gte, "1".into())),
            [name] => {
                let inner = &object[*name];
                let inner_path = at(path, name);
                match *name {
                    "count" => Measure::Count(self.num_cmp(inner, &inner_path, &[])?),
                    "first" => Measure::First(self.time_cmp(inner, &inner_path)?),
                    "last" => Measure::Last(self.time_cmp(inner, &inner_path)?),
                    _ => {
                        let cmp = self.num_cmp(inner, &inner_path, &["property"])?;
                        let property = inner.get("property").and_then(Value::as_str);
                        let Some(property) = property.filter(|p| is_property(p)) else {
                            self.fail(
                                &at(&inner_path, "property"),
                                "invalid_value",
                                "Name the numeric property, e.g. amount.",
                            );
                            return None;
                        };
                        let aggregate = match *name {
                            "sum" => Aggregate::Sum,
                            "avg" => Aggregate::Avg,
                            _ => Aggregate::Max,
                        };
                        Measure::Of {
                            aggregate,
                            property: property.to_owned(),
                            cmp,
                        }
                    }
                }
            }
            _ => {
                self.fail(
                    path,
                    "invalid_value",
                    "At most one of count, sum, avg, max, first, last.",
                );
                return None;
            }
        };
        if within_days.is_some()
            || matches!(
                measure,
                Measure::First(TimeCmp::WithinLastDays(_) | TimeCmp::MoreThanDaysAgo(_))
                    | Measure::Last(TimeCmp::WithinLastDays(_) | TimeCmp::MoreThanDaysAgo(_))
            )
        {
            self.deps.time_based = true;
        }
        self.deps.triggers.insert(format!("event:{kind}"));
        Some(Node::Activity {
            kind: kind.to_owned(),
            filters,
            within_days,
            measure,
        })
    }

    /// One `{property, op, value}` or an array of them (all must hold).
    fn filters(&mut self, value: &Value, path: &str) -> Option<Vec<PropertyFilter>> {
        let items: Vec<(String, &Value)> = match value {
            Value::Array(items) if !items.is_empty() && items.len() <= 20 => items
                .iter()
                .enumerate()
                .map(|(i, item)| (at(path, i), item))
                .collect(),
            Value::Object(_) => vec![(path.to_owned(), value)],
            _ => {
                self.fail(
                    path,
                    "invalid_type",
                    "Expected a property comparison or an array of 1–20.",
                );
                return None;
            }
        };
        let mut filters = Vec::new();
        for (path, item) in items {
            let object = self.keys(item, &path, &["property", "op", "value"])?;
            let property = object.get("property").and_then(Value::as_str);
            let Some(property) = property.filter(|p| is_property(p)) else {
                self.fail(
                    &at(&path, "property"),
                    "invalid_value",
                    "A property name: 1–64 letters, digits and underscores.",
                );
                return None;
            };
            let kind = match object.get("value") {
                Some(Value::Number(_)) => ValueType::Number,
                Some(Value::Bool(_)) => ValueType::Boolean,
                Some(Value::Array(items)) if items.first().is_some_and(Value::is_number) => {
                    ValueType::Number
                }
                _ => ValueType::Text,
            };
            let op = self.op(object, &path, kind)?;
            filters.push(PropertyFilter {
                property: property.to_owned(),
                op,
            });
        }
        Some(filters)
    }

    fn consent(&mut self, value: &Value, path: &str) -> Option<Node> {
        let object = self.keys(value, path, &["consent", "is"])?;
        let slot_path = at(path, "consent");
        let slot = self.keys(&object["consent"], &slot_path, &["channel", "purpose"])?;
        let channel = slot
            .get("channel")
            .and_then(Value::as_str)
            .and_then(Channel::parse);
        let purpose = slot
            .get("purpose")
            .and_then(Value::as_str)
            .and_then(Purpose::parse);
        if channel.is_none() {
            let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            self.fail(
                &at(&slot_path, "channel"),
                "invalid_value",
                format!("Use one of {}.", names.join(", ")),
            );
        }
        if purpose.is_none() {
            let names: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
            self.fail(
                &at(&slot_path, "purpose"),
                "invalid_value",
                format!("Use one of {}.", names.join(", ")),
            );
        }
        let is = match object.get("is").and_then(Value::as_str) {
            Some("granted") => Some(ConsentIs::Granted),
            Some("denied") => Some(ConsentIs::Denied),
            Some("unknown") => Some(ConsentIs::Unknown),
            _ => None,
        };
        if is.is_none() {
            self.fail(
                &at(path, "is"),
                "invalid_value",
                "Use granted, denied or unknown.",
            );
        }
        // A consent expires with time alone, and changes through the consent API (no event).
        self.deps.time_based = true;
        self.deps.triggers.insert("consent".to_owned());
        Some(Node::Consent {
            channel: channel?,
            purpose: purpose?,
            is: is?,
        })
    }

    fn score(&mut self, value: &Value, path: &str) -> Option<Node> {
        let object = self.keys(value, path, &["score", "op", "value"])?;
        let score = object["score"].as_str().filter(|s| SCORES.contains(s));
        let Some(score) = score else {
            self.fail(
                &at(path, "score"),
                "invalid_value",
                format!("Use one of {}.", SCORES.join(", ")),
            );
            return None;
        };
        let op = self.op(object, path, ValueType::Number)?;
        let cmp = match op {
            Op::Cmp(cmp, Scalar::Number(value)) => NumCmp::Cmp(cmp, value),
            Op::Between(Scalar::Number(low), Scalar::Number(high)) => NumCmp::Between(low, high),
            _ => {
                self.fail(
                    &at(path, "op"),
                    "invalid_operator",
                    "Use eq, neq, gt, gte, lt, lte or between.",
                );
                return None;
            }
        };
        self.deps.triggers.insert("*".to_owned());
        Some(Node::Score {
            score: score.to_owned(),
            cmp,
        })
    }

    fn segment(&mut self, value: &Value, path: &str) -> Option<Node> {
        let object = self.keys(value, path, &["segment", "is"])?;
        let id = object["segment"]
            .as_str()
            .and_then(|slug| self.catalogue.segments.get(slug))
            .copied();
        let Some(id) = id else {
            self.fail(
                &at(path, "segment"),
                "unknown_segment",
                "No segment of this brand has this slug.",
            );
            return None;
        };
        let member = match object.get("is").and_then(Value::as_str) {
            Some("member") => true,
            Some("not_member") => false,
            _ => {
                self.fail(
                    &at(path, "is"),
                    "invalid_value",
                    "Use member or not_member.",
                );
                return None;
            }
        };
        self.deps.segments.insert(id);
        Some(Node::Segment { id, member })
    }
}

fn is_property(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An event type, as the events API takes them: `[a-z][a-z0-9_]{1,63}`.
fn is_type(kind: &str) -> bool {
    let bytes = kind.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}
