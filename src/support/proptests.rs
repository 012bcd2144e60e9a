//! Property tests: Salesforce cases and comments with drifted fields map or are refused, never a panic.

use proptest::prelude::*;
use serde_json::json;

use super::domain::{Case, CaseComment};
use super::salesforce::case::RawCase;
use super::salesforce::comment::RawCaseComment;
use super::salesforce::parse_datetime;
use crate::testing::{config, hostile_text, mutated};

fn case() -> serde_json::Value {
    json!({
        "attributes": { "type": "Case" }, "Id": "500000000000001AAA", "CaseNumber": "00001001",
        "Subject": "No data since Monday", "Description": "My SIM shows no signal.", "Status": "New",
        "Priority": "Medium", "Type": "Technical", "Reason": "SIM", "IsClosed": false,
        "CreatedDate": "2026-11-02T09:00:00.000+0000", "ClosedDate": null,
        "CaseComments": { "totalSize": 1, "done": true, "records": [ {
            "attributes": { "type": "CaseComment" }, "Id": "00a000000000001AAA", "CommentBody": "We are on it.",
            "IsPublished": true, "CreatedDate": "2026-11-02T10:00:00.000+0000"
        } ] }
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_datetime_text_is_read_or_refused(text in prop_oneof![
        hostile_text(),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([+-][0-9]{4}|Z)?",
    ]) {
        let _ = parse_datetime(&text);
    }

    #[test]
    fn a_drifted_case_maps_or_is_refused(body in mutated(case())) {
        if let Ok(raw) = serde_json::from_value::<RawCase>(body) {
            let comments: Vec<RawCaseComment> =
                raw.case_comments.clone().map(|children| children.records).unwrap_or_default();
            let _ = Case::try_from(raw);
            for comment in comments {
                let _ = CaseComment::try_from(comment);
            }
        }
    }
}

#[test]
fn the_sample_maps() {
    let raw: RawCase = serde_json::from_value(case()).unwrap_or_else(|e| panic!("{e}"));
    let mapped = Case::try_from(raw);
    assert!(mapped.is_ok(), "{mapped:?}");
}
