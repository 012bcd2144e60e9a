//! Safe SOQL literals.

use chrono::{NaiveDate, TimeZone, Utc};
use concierge::integrations::salesforce::soql;

#[test]
fn quote_escapes_quotes_and_backslashes() {
    assert_eq!(soql::quote("O'Brien"), r"'O\'Brien'");
    assert_eq!(soql::quote(r"back\slash"), r"'back\\slash'");
    assert_eq!(soql::quote("say \"hi\""), r#"'say \"hi\"'"#);
    assert_eq!(soql::quote("line\nbreak\ttab"), r"'line\nbreak\ttab'");
}

#[test]
fn an_injection_attempt_stays_inside_the_literal() {
    let quoted = soql::quote("x' OR Name != '");

    assert_eq!(quoted, r"'x\' OR Name != \''");
}

#[test]
fn control_characters_that_soql_cannot_hold_are_dropped() {
    assert_eq!(soql::quote("a\u{0}b\u{7}c"), "'abc'");
}

#[test]
fn like_patterns_match_wildcards_in_the_value_literally() {
    assert_eq!(soql::quote_like_contains("50%_off"), r"'%50\%\_off%'");
    assert_eq!(soql::quote_like_prefix("O'B"), r"'O\'B%'");
}

#[test]
fn in_lists_quote_every_value_and_are_never_empty() {
    assert_eq!(soql::quote_list(["a", "b'c"]), r"('a','b\'c')");
    assert_eq!(soql::quote_list(Vec::<String>::new()), "('')");
}

#[test]
fn ids_must_have_the_shape_of_a_record_id() {
    assert!(soql::is_id("001RO000001abcd"));
    assert!(soql::is_id("001RO000001abcdYAA"));
    assert!(!soql::is_id("001RO000001abc"));
    assert!(!soql::is_id("001RO000001abcd' OR"));
    assert!(!soql::is_id("../../sobjects/U"));
}

#[test]
fn dates_and_datetimes_are_unquoted_iso_literals() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let instant = Utc.with_ymd_and_hms(2026, 11, 21, 10, 31, 40).unwrap();

    assert_eq!(soql::date(date), "2026-11-21");
    assert_eq!(soql::datetime(instant), "2026-11-21T10:31:40Z");
}
