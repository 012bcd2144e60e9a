#![allow(clippy::unwrap_used)]

use serde_json::Value;

use super::ast::{CompareOp, Condition, Literal, SelectItem};
use super::{QueryOutcome, SoqlError, parser, run};
use crate::salesforce::seed::{STANDARD_PRICEBOOK_ID, seeded_store};

const VERSION: &str = "v60.0";

fn query(soql: &str) -> QueryOutcome {
    run(soql, &seeded_store(), VERSION).unwrap()
}

fn error(soql: &str) -> SoqlError {
    run(soql, &seeded_store(), VERSION).unwrap_err()
}

fn column(outcome: &QueryOutcome, field: &str) -> Vec<Value> {
    outcome.records.iter().map(|r| r[field].clone()).collect()
}

#[test]
fn a_full_query_parses_into_its_clauses() {
    let parsed = parser::parse(
        "select Id, Account.Name from Contact where Email = 'a@b.c' order by LastName desc nulls last limit 10 offset 5",
    )
    .unwrap();

    assert_eq!(parsed.select.len(), 2);
    assert_eq!(parsed.from.text, "Contact");
    assert!(matches!(
        parsed.filter,
        Some(Condition::Compare { op: CompareOp::Eq, value: Literal::Text(ref t), .. }) if t == "a@b.c"
    ));
    assert_eq!(parsed.order_by.len(), 1);
    assert!(parsed.order_by[0].descending);
    assert_eq!(parsed.order_by[0].nulls_last, Some(true));
    assert_eq!(parsed.limit, Some(10));
    assert_eq!(parsed.offset, Some(5));
}

#[test]
fn string_literals_understand_backslash_escapes() {
    let parsed = parser::parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \n'").unwrap();

    assert!(matches!(
        parsed.filter,
        Some(Condition::Compare { value: Literal::Text(ref t), .. }) if t == "O'Brien \\ \n"
    ));
}

#[test]
fn dates_and_datetimes_are_unquoted_literals() {
    let parsed = parser::parse(
        "SELECT Id FROM Order WHERE EffectiveDate >= 2026-11-21 AND CreatedDate < 2026-11-21T10:00:00Z",
    )
    .unwrap();

    let Some(Condition::All(terms)) = parsed.filter else {
        panic!("expected AND");
    };
    assert!(matches!(
        terms[0],
        Condition::Compare {
            value: Literal::Date(_),
            ..
        }
    ));
    assert!(matches!(
        terms[1],
        Condition::Compare {
            value: Literal::DateTime(_),
            ..
        }
    ));
}

#[test]
fn count_and_subqueries_are_select_items() {
    let count = parser::parse("SELECT COUNT() FROM Account").unwrap();
    let nested =
        parser::parse("SELECT Id, (SELECT Id FROM OrderItems WHERE Quantity > 1) FROM Order")
            .unwrap();

    assert_eq!(count.select, vec![SelectItem::Count]);
    assert!(matches!(nested.select[1], SelectItem::Subquery(_)));
}

#[test]
fn syntax_errors_are_malformed_queries_with_a_position() {
    for soql in [
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account WHERE Name = 'bad \\q escape'",
        "SELECT Id FROM Account LIMIT 99999999999999999999999",
        "SELECT Id FROM Account LIMIT -1",
        "SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Id = 'c'",
        "SELECT Id FROM Account WHERE Name IN ()",
        "SELECT Id FROM Account extra",
        "SELECT Id FROM Account WHERE Name ~ 'a'",
        "",
    ] {
        let failure = error(soql);
        assert_eq!(failure.code, "MALFORMED_QUERY", "{soql}");
        assert!(
            failure.message.contains("ERROR at Row:1:Column:"),
            "{soql}: {}",
            failure.message
        );
    }
}

#[test]
fn and_and_or_may_be_mixed_with_parentheses() {
    let outcome = query(
        "SELECT Id FROM Contact WHERE (FirstName = 'Taro' OR FirstName = 'Emma') AND MailingCountry = 'FR'",
    );

    assert_eq!(
        column(&outcome, "Id"),
        vec![Value::from("003SBDEMO000003AAA")]
    );
}

#[test]
fn unknown_objects_fields_and_relationships_are_named_in_the_error() {
    let object = error("SELECT Id FROM Invoice__c");
    let field = error("SELECT Id, Nmae FROM Account");
    let relationship = error("SELECT Acount.Name FROM Contact");
    let event = error("SELECT Id FROM OrderProvisionRequested__e");

    assert_eq!(object.code, "INVALID_TYPE");
    assert!(object.message.contains("'Invoice__c'"));
    assert_eq!(field.code, "INVALID_FIELD");
    assert!(
        field
            .message
            .contains("No such column 'Nmae' on entity 'Account'")
    );
    assert_eq!(relationship.code, "INVALID_FIELD");
    assert!(relationship.message.contains("'Acount'"));
    assert_eq!(event.code, "INVALID_TYPE");
}

#[test]
fn literals_must_have_the_type_of_their_field() {
    for soql in [
        "SELECT Id FROM PricebookEntry WHERE UnitPrice = '980'",
        "SELECT Id FROM Account WHERE Name = 5",
        "SELECT Id FROM Product2 WHERE IsActive = 'true'",
        "SELECT Id FROM Order WHERE EffectiveDate = '2026-01-01'",
        "SELECT Id FROM Account WHERE CreatedDate > 2026-01-01",
        "SELECT Id FROM PricebookEntry WHERE UnitPrice LIKE '9%'",
    ] {
        assert_eq!(error(soql).code, "INVALID_FIELD", "{soql}");
    }
}

#[test]
fn offsets_above_two_thousand_are_refused() {
    assert_eq!(
        error("SELECT Id FROM Account OFFSET 2001").code,
        "NUMBER_OUTSIDE_VALID_RANGE"
    );
}

#[test]
fn keywords_and_names_are_case_insensitive_and_answers_use_canonical_names() {
    let outcome = query("select id, EMAIL from contact where email = 'DEMO@concierge.test'");

    assert_eq!(outcome.total_size, 1);
    let record = &outcome.records[0];
    assert_eq!(record["Email"], "demo@concierge.test");
    assert_eq!(record["Id"], "003SBDEMO000001AAA");
    assert_eq!(record["attributes"]["type"], "Contact");
    assert_eq!(
        record["attributes"]["url"],
        "/services/data/v60.0/sobjects/Contact/003SBDEMO000001AAA"
    );
    assert!(record.get("LastName").is_none(), "only the selected fields");
}

#[test]
fn like_matches_case_insensitively_with_both_wildcards() {
    let prefixed = query("SELECT Name FROM Product2 WHERE Name LIKE 'sim data %'");
    let single = query("SELECT Name FROM Product2 WHERE ProductCode LIKE 'FIBER-1_G'");
    let escaped = query(r"SELECT Name FROM Product2 WHERE Name LIKE '%\%%'");

    assert_eq!(prefixed.total_size, 5);
    assert_eq!(column(&single, "Name"), vec![Value::from("Fiber 10 Gbps")]);
    assert_eq!(escaped.total_size, 0);
}

#[test]
fn in_and_not_in_filter_by_a_list() {
    // The portal's products (the luxury brands' carry a `Brand__c`).
    let chosen = query(
        "SELECT Id FROM Product2 WHERE Brand__c = null AND Family IN ('Options', 'Services')",
    );
    let others = query(
        "SELECT Id FROM Product2 WHERE Brand__c = null AND Family NOT IN ('Options', 'Services')",
    );

    assert_eq!(chosen.total_size, 6);
    assert_eq!(others.total_size, 14);
}

#[test]
fn numbers_booleans_and_nulls_compare_like_soql() {
    let expensive =
        query("SELECT Id FROM PricebookEntry WHERE Product2.Brand__c = null AND UnitPrice >= 5980");
    let inactive = query("SELECT Name FROM Product2 WHERE Brand__c = null AND IsActive = false");
    let without_plan =
        query("SELECT Id FROM Product2 WHERE Brand__c = null AND SIM_Plan_Type__c = null");
    let not_data_3gb =
        query("SELECT Id FROM Product2 WHERE Brand__c = null AND SIM_Plan_Type__c != 'DATA_3GB'");

    assert_eq!(expensive.total_size, 4);
    assert_eq!(
        column(&inactive, "Name"),
        vec![Value::from("SIM Data 1GB (retired)")]
    );
    assert_eq!(without_plan.total_size, 11);
    assert_eq!(not_data_3gb.total_size, 19, "nulls differ from every value");
}

#[test]
fn not_negates_a_term() {
    let outcome = query(
        "SELECT Id FROM Product2 WHERE Brand__c = null AND NOT (Family = 'SIM' OR Family = 'Internet')",
    );

    assert_eq!(outcome.total_size, 6);
}

#[test]
fn order_by_sorts_with_nulls_where_asked_then_offset_and_limit_apply() {
    let by_price = query(
        "SELECT ProductCode FROM PricebookEntry WHERE Product2.Brand__c = null ORDER BY UnitPrice DESC, ProductCode LIMIT 3 OFFSET 1",
    );
    let nulls_last = query(
        "SELECT SIM_Plan_Type__c FROM Product2 WHERE Brand__c = null ORDER BY SIM_Plan_Type__c NULLS LAST",
    );
    let nulls_first = query(
        "SELECT SIM_Plan_Type__c FROM Product2 WHERE Brand__c = null ORDER BY SIM_Plan_Type__c",
    );

    assert_eq!(
        column(&by_price, "ProductCode"),
        vec![
            Value::from("SETUP-ONSITE"),
            Value::from("FIBER-10G"),
            Value::from("SIM-VOICE-UNL")
        ]
    );
    assert_eq!(nulls_last.records[0]["SIM_Plan_Type__c"], "DATA_10GB");
    assert_eq!(nulls_last.records[19]["SIM_Plan_Type__c"], Value::Null);
    assert_eq!(nulls_first.records[0]["SIM_Plan_Type__c"], Value::Null);
}

#[test]
fn parent_fields_are_nested_under_the_relationship_name() {
    let outcome = query(
        "SELECT Id, Account.Name, Account.Customer_Number__c FROM Contact WHERE Account.Name LIKE 'Hanako%'",
    );

    assert_eq!(outcome.total_size, 1);
    let account = &outcome.records[0]["Account"];
    assert_eq!(account["attributes"]["type"], "Account");
    assert_eq!(account["Name"], "Hanako Yamada");
    assert_eq!(account["Customer_Number__c"], "CN-100001");
}

#[test]
fn a_relationship_can_be_followed_two_levels_deep() {
    let outcome = query(
        "SELECT Id, Product2.Name, Pricebook2.Name FROM PricebookEntry WHERE Product2.Family = 'Services' ORDER BY Product2.Name",
    );

    assert_eq!(outcome.total_size, 2);
    assert_eq!(outcome.records[0]["Product2"]["Name"], "On-site Setup");
    assert_eq!(
        outcome.records[0]["Pricebook2"]["Name"],
        "Standard Price Book"
    );
}

#[test]
fn child_subqueries_come_back_as_nested_query_results() {
    let outcome = query(
        "SELECT CaseNumber, (SELECT CommentBody FROM CaseComments), (SELECT Id FROM Tasks) FROM Case",
    );

    let case = &outcome.records[0];
    assert_eq!(case["CaseComments"]["totalSize"], 1);
    assert_eq!(case["CaseComments"]["done"], true);
    assert_eq!(
        case["CaseComments"]["records"][0]["attributes"]["type"],
        "CaseComment"
    );
    assert_eq!(case["Tasks"], Value::Null, "no children is null");
}

#[test]
fn count_answers_the_total_without_records() {
    let outcome = query("SELECT COUNT() FROM Product2 WHERE Portal_Catalog__c = true");

    assert_eq!(outcome.total_size, 19);
    assert!(outcome.records.is_empty());
}

/// Every seeded person has an Account: the portal's demo customers and the luxury brands' demo clients.
fn seeded_people() -> usize {
    crate::demo::CUSTOMERS.len() + crate::salesforce::luxury_clients::CLIENTS.len()
}

#[test]
fn datetimes_compare_across_spellings() {
    let before = query("SELECT Id FROM Account WHERE CreatedDate < 2026-01-15T09:00:01Z");
    let after = query("SELECT Id FROM Account WHERE CreatedDate >= 2026-01-15T18:00:00+09:00");

    assert_eq!(before.total_size, seeded_people());
    assert_eq!(
        after.total_size,
        seeded_people(),
        "18:00 in Tokyo is 09:00 UTC"
    );
}

#[test]
fn ids_match_in_their_fifteen_character_form() {
    let outcome = query(&format!(
        "SELECT Name FROM Pricebook2 WHERE Id = '{}'",
        &STANDARD_PRICEBOOK_ID[..15]
    ));

    assert_eq!(
        column(&outcome, "Name"),
        vec![Value::from("Standard Price Book")]
    );
}

#[test]
fn absurdly_nested_conditions_are_refused_without_exhausting_the_stack() {
    let parentheses = format!(
        "SELECT Id FROM Account WHERE {}Name = 'a'{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let negations = format!(
        "SELECT Id FROM Account WHERE {}Name = 'a'",
        "NOT ".repeat(100_000)
    );

    assert_eq!(error(&parentheses).code, "MALFORMED_QUERY");
    assert_eq!(error(&negations).code, "MALFORMED_QUERY");
    assert_eq!(
        query("SELECT Id FROM Account WHERE ((NOT (Name = 'a')))").total_size,
        seeded_people()
    );
}
