//! Salesforce `CaseComment` → the support domain.

use serde::Deserialize;

use super::{MappingError, parse_datetime};
use crate::support::domain::{CaseComment, CommentAuthor};
use crate::telemetry::redact::Pii;

/// The fields every read of a comment selects.
pub const FIELDS: &[&str] = &[
    "Id",
    "ParentId",
    "CommentBody",
    "IsPublished",
    "CreatedDate",
];

/// A CaseComment record. Its body is someone's own words, so [`Pii`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawCaseComment {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub comment_body: Option<Pii<String>>,
    #[serde(default)]
    pub is_published: Option<bool>,
    #[serde(default)]
    pub created_date: Option<String>,
}

/// A comment as Salesforce knows it. Salesforce attributes every portal write to the integration user, so
/// it cannot say who wrote a comment: the author is `support` until the portal's own record of the comments
/// customers posted says otherwise (see `support::authors`).
impl TryFrom<RawCaseComment> for CaseComment {
    type Error = MappingError;

    fn try_from(raw: RawCaseComment) -> Result<Self, Self::Error> {
        const OBJECT: &str = "CaseComment";
        let id = raw
            .id
            .filter(|id| crate::integrations::salesforce::soql::is_id(id))
            .ok_or(MappingError::Missing(OBJECT, "Id"))?;
        let created_at = raw
            .created_date
            .as_deref()
            .ok_or(MappingError::Missing(OBJECT, "CreatedDate"))
            .and_then(|text| {
                parse_datetime(text).ok_or(MappingError::Invalid(OBJECT, "CreatedDate"))
            })?;
        if raw.is_published == Some(false) {
            // Internal notes must never reach a customer, whatever query produced them.
            return Err(MappingError::Invalid(OBJECT, "IsPublished"));
        }
        Ok(CaseComment {
            id,
            body: raw.comment_body.unwrap_or_default().into_inner(),
            author: CommentAuthor::Support,
            created_at,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_published_comment_maps_to_the_domain() {
        let raw: RawCaseComment = serde_json::from_value(serde_json::json!({
            "Id": "00aSB0000000001AAA", "ParentId": "500SBDEMO000001AAA",
            "CommentBody": "Please enable roaming.", "IsPublished": true,
            "CreatedDate": "2026-01-15T09:00:00.000+0000"
        }))
        .unwrap();
        let printed = format!("{raw:?}");
        assert!(!printed.contains("roaming"), "{printed}");
        let comment = CaseComment::try_from(raw).unwrap();
        assert_eq!(comment.body, "Please enable roaming.");
        assert_eq!(comment.author, CommentAuthor::Support);
    }

    #[test]
    fn an_internal_note_is_refused() {
        let raw: RawCaseComment = serde_json::from_value(serde_json::json!({
            "Id": "00aSB0000000001AAA", "IsPublished": false,
            "CreatedDate": "2026-01-15T09:00:00.000+0000"
        }))
        .unwrap();
        assert!(CaseComment::try_from(raw).is_err());
    }
}
