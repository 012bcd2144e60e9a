//! A parsed query, names still as written.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Name,
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderBy>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A name and where it starts in the query, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub offset: usize,
}

/// `Field` or `Parent.Grandparent.Field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segments: Vec<String>,
    pub offset: usize,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Field(Path),
    Count,
    Subquery(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Boolean(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        path: Path,
        op: CompareOp,
        value: Literal,
    },
    In {
        path: Path,
        negated: bool,
        values: Vec<Literal>,
    },
    Like {
        path: Path,
        pattern: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub path: Path,
    pub descending: bool,
    /// `NULLS LAST` (`Some(true)`), `NULLS FIRST` (`Some(false)`), or the default for the direction.
    pub nulls_last: Option<bool>,
}
