//! Salesforce `Case` ⇄ the support domain: the raw record, its mapper, and the picklist values the portal
//! writes.
//!
//! Category mapping (written on create, read back from `Reason`, else `Type`):
//!
//! | category  | Case.Type  | Case.Reason |
//! |-----------|------------|-------------|
//! | billing   | Question   | Billing     |
//! | technical | Problem    | Technical   |
//! | sim       | Problem    | SIM         |
//! | order     | Question   | Order       |
//! | account   | Question   | Account     |
//! | other     | Other      | Other       |
//!
//! A case created in Salesforce without one of these reasons reads as `technical` when its Type is `Problem`
//! and `other` otherwise. Priority `Low`/`Medium`/`High` ⇄ `low`/`medium`/`high`; an org's extra values
//! (`Critical`, `Urgent`) read as `high`, anything else (or none) as `medium`. Status: `IsClosed` → `closed`,
//! `New` → `new`, any other open status (`Working`, `Escalated`, …) → `in_progress`.

use serde::Deserialize;

use super::comment::RawCaseComment;
use super::{MappingError, parse_datetime};
use crate::support::domain::{Case, CaseStatus, CaseSummary, Category, Priority};
use crate::telemetry::redact::Pii;

/// The fields every read of a case selects.
pub const FIELDS: &[&str] = &[
    "Id",
    "CaseNumber",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "Type",
    "Reason",
    "IsClosed",
    "CreatedDate",
    "ClosedDate",
];

/// A Case record. Its subject and description are the customer's own words, so [`Pii`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawCase {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub subject: Option<Pii<String>>,
    #[serde(default)]
    pub description: Option<Pii<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default, rename = "Type")]
    pub case_type: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub is_closed: Option<bool>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub closed_date: Option<String>,
    /// Present when the query selected the `CaseComments` child relationship; `null` when there are none.
    #[serde(default)]
    pub case_comments: Option<RawChildren<RawCaseComment>>,
}

/// A child relationship's nested query result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawChildren<T> {
    #[serde(default = "Vec::new")]
    pub records: Vec<T>,
    #[serde(default)]
    pub next_records_url: Option<String>,
}

/// `Type` and `Reason` for a category.
pub fn category_fields(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::Billing => ("Question", "Billing"),
        Category::Technical => ("Problem", "Technical"),
        Category::Sim => ("Problem", "SIM"),
        Category::Order => ("Question", "Order"),
        Category::Account => ("Question", "Account"),
        Category::Other => ("Other", "Other"),
    }
}

pub fn priority_value(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "Low",
        Priority::Medium => "Medium",
        Priority::High => "High",
    }
}

fn category_of(case_type: Option<&str>, reason: Option<&str>) -> Category {
    let from_reason = reason.and_then(|reason| {
        Category::ALL.into_iter().find(|category| {
            category_fields(*category)
                .1
                .eq_ignore_ascii_case(reason.trim())
        })
    });
    from_reason.unwrap_or(match case_type.map(str::trim) {
        Some(kind) if kind.eq_ignore_ascii_case("Problem") => Category::Technical,
        _ => Category::Other,
    })
}

fn priority_of(value: Option<&str>) -> Priority {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("low") => Priority::Low,
        Some("high" | "critical" | "urgent") => Priority::High,
        _ => Priority::Medium,
    }
}

fn status_of(is_closed: bool, status: &str) -> CaseStatus {
    if is_closed {
        CaseStatus::Closed
    } else if status.trim().eq_ignore_ascii_case("New") {
        CaseStatus::New
    } else {
        CaseStatus::InProgress
    }
}

impl TryFrom<RawCase> for Case {
    type Error = MappingError;

    fn try_from(raw: RawCase) -> Result<Self, Self::Error> {
        const OBJECT: &str = "Case";
        let id = raw
            .id
            .filter(|id| crate::integrations::salesforce::soql::is_id(id))
            .ok_or(MappingError::Missing(OBJECT, "Id"))?;
        let case_number = raw
            .case_number
            .filter(|n| !n.trim().is_empty())
            .ok_or(MappingError::Missing(OBJECT, "CaseNumber"))?;
        let status = raw
            .status
            .filter(|s| !s.trim().is_empty())
            .ok_or(MappingError::Missing(OBJECT, "Status"))?;
        let created_at = raw
            .created_date
            .as_deref()
            .ok_or(MappingError::Missing(OBJECT, "CreatedDate"))
            .and_then(|text| {
                parse_datetime(text).ok_or(MappingError::Invalid(OBJECT, "CreatedDate"))
            })?;
        let closed_at = match raw.closed_date.as_deref() {
            None | Some("") => None,
            Some(text) => {
                Some(parse_datetime(text).ok_or(MappingError::Invalid(OBJECT, "ClosedDate"))?)
            }
        };
        let is_closed = raw.is_closed.unwrap_or(closed_at.is_some());
        Ok(Case {
            summary: CaseSummary {
                id,
                case_number,
                subject: raw.subject.unwrap_or_default().into_inner(),
                status: status_of(is_closed, &status),
                priority: priority_of(raw.priority.as_deref()),
                category: category_of(raw.case_type.as_deref(), raw.reason.as_deref()),
                created_at,
                closed_at: if is_closed { closed_at } else { None },
            },
            description: raw.description.unwrap_or_default().into_inner(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw() -> RawCase {
        serde_json::from_value(serde_json::json!({
            "attributes": {"type": "Case"},
            "Id": "500SBDEMO000001AAA",
            "CaseNumber": "00001001",
            "Subject": "SIM not connecting abroad",
            "Description": "No service in Paris.",
            "Status": "Working",
            "Priority": "Critical",
            "Type": "Problem",
            "Reason": null,
            "IsClosed": false,
            "CreatedDate": "2026-01-15T09:00:00.000+0000",
            "ClosedDate": null
        }))
        .unwrap()
    }

    #[test]
    fn a_salesforce_case_maps_to_the_domain() {
        let case = Case::try_from(raw()).unwrap();
        assert_eq!(case.summary.status, CaseStatus::InProgress);
        assert_eq!(case.summary.priority, Priority::High);
        assert_eq!(case.summary.category, Category::Technical);
        assert_eq!(
            case.summary.created_at.to_rfc3339(),
            "2026-01-15T09:00:00+00:00"
        );
        assert_eq!(case.summary.closed_at, None);
    }

    #[test]
    fn every_category_reads_back_as_itself() {
        for category in Category::ALL {
            let (kind, reason) = category_fields(category);
            assert_eq!(category_of(Some(kind), Some(reason)), category);
        }
    }

    #[test]
    fn a_case_without_an_id_or_a_readable_date_is_malformed() {
        let mut missing = raw();
        missing.id = None;
        assert!(matches!(
            Case::try_from(missing),
            Err(MappingError::Missing(_, "Id"))
        ));
        let mut bad_date = raw();
        bad_date.created_date = Some("yesterday".into());
        assert!(matches!(
            Case::try_from(bad_date),
            Err(MappingError::Invalid(_, "CreatedDate"))
        ));
    }

    #[test]
    fn debug_shows_neither_subject_nor_description() {
        let printed = format!("{:?}", raw());
        assert!(!printed.contains("SIM not connecting"), "{printed}");
        assert!(!printed.contains("Paris"), "{printed}");
        assert!(printed.contains("00001001"), "{printed}");
        let case = Case::try_from(raw()).unwrap();
        assert_eq!(case.summary.subject, "SIM not connecting abroad");
        assert_eq!(case.description, "No service in Paris.");
    }
}
