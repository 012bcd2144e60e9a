//! The SOQL subset the sandbox answers: `SELECT` fields, parent fields (`Account.Name`), child subqueries
//! (`(SELECT Id FROM OrderItems)`) or `COUNT()`, `FROM` one object, `WHERE` with `= != <> < > <= >=`,
//! `[NOT] IN (…)`, `LIKE`, `AND`/`OR`/`NOT` and parentheses, `ORDER BY … ASC|DESC NULLS FIRST|LAST`, `LIMIT`,
//! `OFFSET`. Keywords, objects and fields are case-insensitive; text comparisons too, like Salesforce's.
//!
//! `lexer` → `parser` (syntax, `MALFORMED_QUERY`) → `plan` (names and literal types against the schema,
//! `INVALID_TYPE`/`INVALID_FIELD`) → `eval` (filter, sort, page and project over the store).

mod ast;
mod eval;
mod lexer;
mod parser;
mod plan;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::errors::SalesforceError;
use super::store::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

impl SoqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A syntax error, located like Salesforce locates them.
    pub fn malformed(query: &str, offset: usize, detail: impl std::fmt::Display) -> Self {
        let before = query.get(..offset).unwrap_or(query);
        let row = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |line| line.chars().count())
            + 1;
        Self::new(
            "MALFORMED_QUERY",
            format!("ERROR at Row:{row}:Column:{column}\n{detail}"),
        )
    }
}

impl From<SoqlError> for SalesforceError {
    fn from(error: SoqlError) -> Self {
        SalesforceError::bad_request(error.code, error.message)
    }
}

/// What a query found: the total (after `LIMIT`/`OFFSET`) and the records as the API shows them (none for
/// `COUNT()`).
#[derive(Debug)]
pub struct QueryOutcome {
    pub total_size: usize,
    pub records: Vec<Value>,
}

/// Parses, checks and runs `soql` against the store; `version` (e.g. `v60.0`) goes into record URLs.
pub fn run(soql: &str, store: &Store, version: &str) -> Result<QueryOutcome, SoqlError> {
    let query = parser::parse(soql)?;
    let plan = plan::plan(&query)?;
    Ok(eval::run(&plan, store, version))
}
