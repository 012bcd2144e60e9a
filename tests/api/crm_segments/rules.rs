//! Every operator and leaf kind against hand-built profiles (through the preview), validation errors with
//! their paths, and injection attempts.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{activity, brand_id, consent, preview, profile, sample_ids, sorted};
use crate::helpers::{TestApp, admin_token, marketer_token, spawn_app};

struct World {
    a: Uuid,
    b: Uuid,
    c: Uuid,
}

async fn declare(app: &TestApp, brand: Uuid, name: &str, kind: &str) {
    sqlx::query(
        "INSERT INTO crm_attribute_definitions (brand_id, name, type, created_by) VALUES ($1, $2, $3, 'test')",
    )
    .bind(brand)
    .bind(name)
    .bind(kind)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Three maison profiles (a: gold Parisian buyer, b: silver Tokyo client gone quiet, c: nearly empty) and
/// one atelier profile that matches almost everything, so any leak across brands shows.
async fn world(app: &TestApp) -> World {
    let maison = brand_id(app, "maison").await;
    let atelier = brand_id(app, "atelier").await;
    let now = Utc::now();
    let days = |n: i64| now - Duration::days(n);
    for (name, kind) in [
        ("boutique", "string"),
        ("visits", "number"),
        ("newsletter", "boolean"),
    ] {
        declare(app, maison, name, kind).await;
    }
    let a = profile(app, maison, json!({
        "tier": "gold", "country": "FR", "city": "Paris", "email": "a@x.com", "first_name": "Anne",
        "tags": ["vip", "paris"], "lifetime_value": 1200, "birthday": "1990-05-01",
        "last_activity_at": days(5), "custom": {"boutique": "paris-1", "visits": 12, "newsletter": true}
    })).await;
    let b = profile(app, maison, json!({
        "tier": "silver", "country": "JP", "city": "Tokyo", "email": "b_50%@x.com", "tags": ["tokyo"],
        "lifetime_value": 300, "birthday": "2001-02-03", "last_activity_at": days(60),
        "custom": {"boutique": "tokyo-1", "visits": 3}
    })).await;
    let c = profile(app, maison, json!({})).await;
    let d = profile(
        app,
        atelier,
        json!({
            "tier": "gold", "country": "FR", "city": "Paris", "email": "d@x.com", "tags": ["vip"],
            "lifetime_value": 9000, "last_activity_at": days(1)
        }),
    )
    .await;
    activity(
        app,
        maison,
        a,
        "purchase",
        days(10),
        json!({"order_id": "1", "amount": "500.00", "currency": "EUR"}),
    )
    .await;
    activity(
        app,
        maison,
        a,
        "purchase",
        days(40),
        json!({"order_id": "2", "amount": 800, "currency": "EUR"}),
    )
    .await;
    activity(
        app,
        maison,
        a,
        "booking",
        days(3),
        json!({"booking_id": "1", "store": "paris-1"}),
    )
    .await;
    activity(
        app,
        maison,
        a,
        "booking",
        days(20),
        json!({"booking_id": "2", "store": "paris-1"}),
    )
    .await;
    activity(
        app,
        maison,
        b,
        "purchase",
        days(100),
        json!({"order_id": "3", "amount": "50", "currency": "EUR"}),
    )
    .await;
    activity(
        app,
        maison,
        b,
        "booking",
        days(2),
        json!({"booking_id": "3", "status": "cancelled"}),
    )
    .await;
    activity(
        app,
        atelier,
        d,
        "purchase",
        days(1),
        json!({"order_id": "4", "amount": "9000", "currency": "EUR"}),
    )
    .await;
    consent(app, maison, a, "granted", None).await;
    consent(app, maison, b, "granted", Some(days(1))).await;
    consent(app, maison, c, "denied", None).await;
    consent(app, atelier, d, "granted", None).await;
    World { a, b, c }
}

async fn matched(app: &TestApp, token: &str, rule: Value) -> Vec<Uuid> {
    let (status, answer) = preview(app, token, "maison", &rule).await;
    assert_eq!(status, 200, "{rule}: {answer}");
    let ids = sample_ids(&answer);
    assert_eq!(
        answer["count"],
        ids.len(),
        "{rule}: the count is the sample's size here"
    );
    ids
}

#[tokio::test]
async fn every_attribute_operator_selects_exactly_the_matching_profiles() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let World { a, b, c } = world(&app).await;
    let attr =
        |name: &str, op: &str, value: Value| json!({"attribute": name, "op": op, "value": value});
    let cases: Vec<(Value, Vec<Uuid>)> = vec![
        (attr("tier", "eq", json!("gold")), vec![a]),
        (attr("tier", "neq", json!("gold")), vec![b]),
        (
            json!({"not": attr("tier", "eq", json!("gold"))}),
            vec![b, c],
        ),
        (attr("lifetime_value", "gt", json!(300)), vec![a]),
        (attr("lifetime_value", "gte", json!(300)), vec![a, b]),
        (attr("lifetime_value", "lt", json!(300)), vec![c]),
        (attr("lifetime_value", "lte", json!(300)), vec![b, c]),
        (
            attr("lifetime_value", "between", json!([100, 500])),
            vec![b],
        ),
        (attr("tier", "in", json!(["gold", "silver"])), vec![a, b]),
        (attr("tier", "not_in", json!(["gold"])), vec![b]),
        (attr("city", "contains", json!("ARI")), vec![a]),
        (attr("email", "starts_with", json!("b_50%")), vec![b]),
        // `_` and `%` are literal, never wildcards.
        (attr("email", "starts_with", json!("b_5_")), vec![]),
        (attr("email", "ends_with", json!("@x.com")), vec![a, b]),
        (json!({"attribute": "tier", "op": "exists"}), vec![a, b]),
        (json!({"attribute": "tier", "op": "missing"}), vec![c]),
        (attr("tags", "contains", json!("vip")), vec![a]),
        (attr("tags", "in", json!(["tokyo", "paris"])), vec![a, b]),
        (attr("tags", "not_in", json!(["vip"])), vec![b, c]),
        (json!({"attribute": "tags", "op": "missing"}), vec![c]),
        (attr("birthday", "lt", json!("2000-01-01")), vec![a]),
        (
            attr("last_activity_at", "within_last", json!({"days": 30})),
            vec![a],
        ),
        (
            attr("last_activity_at", "more_than_ago", json!({"days": 30})),
            vec![b],
        ),
        (attr("boutique", "eq", json!("paris-1")), vec![a]),
        (attr("visits", "gte", json!(5)), vec![a]),
        (attr("visits", "between", json!([1, 5])), vec![b]),
        (attr("newsletter", "eq", json!(true)), vec![a]),
        (json!({"attribute": "visits", "op": "missing"}), vec![c]),
        (
            json!({"any": [attr("tier", "eq", json!("gold")), attr("country", "eq", json!("JP"))]}),
            vec![a, b],
        ),
        (
            json!({"all": [attr("tier", "eq", json!("gold")), attr("country", "eq", json!("JP"))]}),
            vec![],
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            matched(&app, &token, rule.clone()).await,
            sorted(expected),
            "{rule}"
        );
    }
}

#[tokio::test]
async fn activity_aggregates_and_consent_select_exactly_the_matching_profiles() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let World { a, b, c } = world(&app).await;
    let cases: Vec<(Value, Vec<Uuid>)> = vec![
        (json!({"activity": "purchase"}), vec![a, b]),
        (
            json!({"activity": "purchase", "count": {"gte": 2}}),
            vec![a],
        ),
        (json!({"activity": "purchase", "count": {"eq": 1}}), vec![b]),
        // Zero satisfies it: the profiles without any purchase, of this brand only.
        (json!({"activity": "purchase", "count": {"lt": 1}}), vec![c]),
        (
            json!({"activity": "booking", "count": {"lte": 1}, "within": {"days": 30}}),
            vec![b, c],
        ),
        (
            json!({"activity": "purchase", "within": {"days": 30}}),
            vec![a],
        ),
        (
            json!({"activity": "purchase", "where": {"property": "amount", "op": "gte", "value": 600}}),
            vec![a],
        ),
        (
            json!({"activity": "purchase", "sum": {"property": "amount", "gte": 1300}}),
            vec![a],
        ),
        (
            json!({"activity": "purchase", "sum": {"property": "amount", "gt": 1300}}),
            vec![],
        ),
        (
            json!({"activity": "purchase", "avg": {"property": "amount", "lt": 100}}),
            vec![b],
        ),
        (
            json!({"activity": "purchase", "max": {"property": "amount", "gte": 800}}),
            vec![a],
        ),
        (
            json!({"activity": "purchase", "last": {"within_last": {"days": 30}}}),
            vec![a],
        ),
        (
            json!({"activity": "purchase", "first": {"more_than_ago": {"days": 90}}}),
            vec![b],
        ),
        (
            json!({"activity": "booking", "where": [{"property": "store", "op": "eq", "value": "paris-1"}]}),
            vec![a],
        ),
        (
            json!({"activity": "booking", "where": {"property": "status", "op": "eq", "value": "cancelled"}}),
            vec![b],
        ),
        (
            json!({"activity": "booking", "where": {"property": "status", "op": "missing"}}),
            vec![a],
        ),
        (
            json!({"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"}),
            vec![a],
        ),
        // b's grant has expired: unknown, as `crm::consent` computes it.
        (
            json!({"consent": {"channel": "email", "purpose": "marketing"}, "is": "unknown"}),
            vec![b],
        ),
        (
            json!({"consent": {"channel": "email", "purpose": "marketing"}, "is": "denied"}),
            vec![c],
        ),
        (
            json!({"consent": {"channel": "sms", "purpose": "marketing"}, "is": "unknown"}),
            vec![a, b, c],
        ),
        (
            json!({"not": {"activity": "purchase", "within": {"days": 30}}}),
            vec![b, c],
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            matched(&app, &token, rule.clone()).await,
            sorted(expected),
            "{rule}"
        );
    }
}

#[tokio::test]
async fn rule_errors_point_into_the_tree_and_are_never_a_500() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    world(&app).await;
    let deep = (0..10).fold(
        json!({"attribute": "tier", "op": "exists"}),
        |inner, _| json!({"not": inner}),
    );
    let wide = json!({"any": (0..51).map(|_| json!({"attribute": "tier", "op": "exists"})).collect::<Vec<_>>()});
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"all": [{"attribute": "tier", "op": "eq", "value": "gold"},
                        {"attribute": "lifetime_value", "op": "gt", "value": "abc"}]}),
            "rule/all/1/value",
            "invalid_value",
        ),
        (
            json!({"attribute": "nope", "op": "eq", "value": 1}),
            "rule/attribute",
            "unknown_attribute",
        ),
        (
            json!({"attribute": "tier; DROP TABLE crm_profiles; --", "op": "exists"}),
            "rule/attribute",
            "unknown_attribute",
        ),
        (
            json!({"attribute": "tags", "op": "gt", "value": "a"}),
            "rule/op",
            "invalid_operator",
        ),
        (
            json!({"attribute": "tier", "op": "exists", "value": "x"}),
            "rule/value",
            "not_allowed",
        ),
        (
            json!({"attribute": "tier", "op": "in", "value": []}),
            "rule/value",
            "invalid_type",
        ),
        (
            json!({"attribute": "tier", "op": "eq", "value": "x", "extra": 1}),
            "rule/extra",
            "unknown_field",
        ),
        (json!({"any": []}), "rule/any", "invalid_type"),
        (json!("tier = gold"), "rule", "invalid_type"),
        (json!({"weird": 1}), "rule", "unknown_rule"),
        (deep, "rule/not/not/not/not/not/not/not/not", "too_deep"),
        (wide, "rule", "too_many_leaves"),
        (
            json!({"activity": "Purchase!"}),
            "rule/activity",
            "invalid_value",
        ),
        (
            json!({"activity": "purchase", "within": {"days": 0}}),
            "rule/within/days",
            "invalid_value",
        ),
        (
            json!({"activity": "purchase", "count": {"gte": 1, "lt": 3}}),
            "rule/count",
            "invalid_value",
        ),
        (
            json!({"activity": "purchase", "sum": {"property": "x'--", "gte": 1}}),
            "rule/sum/property",
            "invalid_value",
        ),
        (
            json!({"consent": {"channel": "pigeon", "purpose": "marketing"}, "is": "granted"}),
            "rule/consent/channel",
            "invalid_value",
        ),
        (
            json!({"score": "churn_risk", "op": "contains", "value": 80}),
            "rule/op",
            "invalid_operator",
        ),
        (
            json!({"score": "luck", "op": "gte", "value": 80}),
            "rule/score",
            "invalid_value",
        ),
        (
            json!({"segment": "no-such-segment", "is": "member"}),
            "rule/segment",
            "unknown_segment",
        ),
    ];
    for (rule, field, code) in cases {
        let (status, answer) = preview(&app, &token, "maison", &rule).await;
        assert_eq!(status, 422, "{rule}: {answer}");
        let errors = answer["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{rule}: expected {field} {code} in {answer}"
        );
    }
}

#[tokio::test]
async fn hostile_values_are_bound_and_match_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let World { a, .. } = world(&app).await;
    for value in [
        "gold' OR '1'='1",
        "gold\\'; DELETE FROM crm_profiles; --",
        "%",
        "$1",
    ] {
        let rule = json!({"any": [
            {"attribute": "tier", "op": "eq", "value": value},
            {"attribute": "boutique", "op": "in", "value": [value]},
            {"activity": "purchase", "where": {"property": "amount", "op": "eq", "value": value}},
        ]});
        assert_eq!(
            matched(&app, &token, rule).await,
            Vec::<Uuid>::new(),
            "{value}"
        );
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 4);
    let rule = json!({"attribute": "tier", "op": "eq", "value": "gold"});
    assert_eq!(matched(&app, &token, rule).await, vec![a]);
}

#[tokio::test]
async fn admins_see_the_compiled_statement_and_its_plan_marketers_do_not() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let admin = admin_token(&app, "root@example.com").await;
    world(&app).await;
    let rule = json!({"all": [
        {"attribute": "tier", "op": "eq", "value": "gold"},
        {"activity": "purchase", "within": {"days": 30}},
    ]});
    let (status, answer) = preview(&app, &admin, "maison", &rule).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["count"], 1);
    let sql = answer["sql"].as_str().unwrap();
    assert!(
        sql.contains("p.brand_id = $1") && sql.contains("p.tier = $"),
        "{sql}"
    );
    assert!(!sql.contains("gold"), "values are bound: {sql}");
    assert!(answer["plan"][0]["Plan"].is_object(), "{answer}");
    let (status, answer) = preview(&app, &token, "maison", &rule).await;
    assert_eq!(status, 200);
    assert!(
        answer.get("sql").is_none() && answer.get("plan").is_none(),
        "{answer}"
    );
}

#[tokio::test]
async fn a_preview_over_its_time_budget_is_a_422_not_a_500() {
    let app = crate::helpers::spawn_app_with(crate::helpers::TestOptions {
        configure: Box::new(|settings| settings.crm.segments.preview_timeout_ms = 1),
        ..Default::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    // Enough rows that counting them takes longer than a millisecond (few enough to insert quickly on a
    // loaded machine: 200,000 once hit the pool's statement timeout).
    sqlx::query(
        "INSERT INTO crm_profiles (id, brand_id, tier) SELECT gen_random_uuid(), $1, 'gold' FROM generate_series(1, 50000)",
    )
    .bind(maison)
    .execute(&app.db)
    .await
    .unwrap();
    let rule = json!({"attribute": "city", "op": "contains", "value": "zz"});
    let (status, answer) = preview(&app, &token, "maison", &rule).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["type"]
            .as_str()
            .unwrap()
            .ends_with("/segment-preview-timeout"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_score_leaf_compares_the_profiles_current_score() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let World { a, b, c } = world(&app).await;
    let maison = brand_id(&app, "maison").await;
    let atelier = brand_id(&app, "atelier").await;
    let foreign = profile(&app, atelier, json!({})).await;
    for (brand, id, score, value) in [
        (maison, a, "churn_risk", 85),
        (maison, b, "churn_risk", 40),
        (maison, c, "engagement", 90),
        (atelier, foreign, "churn_risk", 99),
    ] {
        sqlx::query(
            "INSERT INTO crm_scores (brand_id, profile_id, score, value, reasons, rules_version, computed_at)
             VALUES ($1, $2, $3, $4, '[]', 1, now())",
        )
        .bind(brand)
        .bind(id)
        .bind(score)
        .bind(value as i16)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let cases: Vec<(Value, Vec<Uuid>)> = vec![
        (
            json!({"score": "churn_risk", "op": "gte", "value": 80}),
            vec![a],
        ),
        (
            json!({"score": "churn_risk", "op": "lt", "value": 80}),
            vec![b],
        ),
        (
            json!({"score": "churn_risk", "op": "between", "value": [0, 100]}),
            vec![a, b],
        ),
        (
            json!({"score": "engagement", "op": "gt", "value": 50}),
            vec![c],
        ),
        (
            json!({"not": {"score": "churn_risk", "op": "gte", "value": 80}}),
            vec![b, c],
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            matched(&app, &token, rule.clone()).await,
            sorted(expected),
            "{rule}"
        );
    }
}
