//! Each part on known data, `fields`, and the timeline's pages.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use super::{appointment, interaction, ok, view, world};
use crate::clienteling::fixtures::{code, send};
use crate::helpers::{get_json_as, marketer_token, problem, spawn_sandboxed_app};

#[tokio::test]
async fn every_part_shows_the_clients_known_data() {
    let app = spawn_sandboxed_app().await;
    let (advisor, claire) = world(&app).await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    let catalogue = app.state.clienteling.catalogue().unwrap();
    concierge::clienteling::catalogue::sync_now(
        catalogue,
        brand.id,
        "maison",
        concierge::clienteling::catalogue::Trigger::Request,
    )
    .await
    .unwrap();
    let marketer = marketer_token(&app, "mkt.360.parts@maison.example", "maison").await;
    let patch = send(
        &app,
        Method::PATCH,
        Some(&advisor.token),
        &format!("/api/v1/brands/maison/clienteling/clients/{claire}"),
        Some(json!({
            "attributes": { "tier": "platinum" },
            "preferences": { "categories": ["Bags"], "colours": ["Noir"] },
            "important_dates": [{ "label": "Anniversary", "date": "2020-06-12" }],
        })),
    )
    .await;
    assert_eq!(patch.status(), 200);
    for (channel, purpose, status) in [
        ("email", "outreach", "granted"),
        ("whatsapp", "marketing", "denied"),
    ] {
        let response = send(
            &app,
            Method::PUT,
            Some(&marketer),
            &format!("/api/v1/brands/maison/crm/profiles/{claire}/consents/{channel}/{purpose}"),
            Some(json!({ "status": status, "source": "boutique:paris-1" })),
        )
        .await;
        assert!(
            response.status().is_success(),
            "consent {channel}/{purpose}"
        );
    }
    let bought = |id: &str, days: i64, amount: &str, items: serde_json::Value| {
        json!({"id": id, "type": "purchase", "occurred_at": (Utc::now() - Duration::days(days)).to_rfc3339(),
               "identifiers": [{"kind": "email", "value": "claire.360@example.com"}],
               "properties": {"order_id": id, "amount": amount, "currency": "EUR", "store": "paris-1",
                              "items": items}})
    };
    let events = json!([
        bought(
            "o-1",
            40,
            "6900.00",
            json!([{"sku": "MA-CAP-MM-NOIR", "quantity": 1, "price": "6900.00"}])
        ),
        bought(
            "o-2",
            10,
            "7680.00",
            json!([
            {"sku": "MA-BRAC-IDYLLE-OR", "quantity": 1, "price": "7400.00"},
            {"sku": "MA-CAP-BB-ROSE", "quantity": 2, "price": "140.00"}])
        ),
    ]);
    let response = send(
        &app,
        Method::POST,
        Some(&marketer),
        "/api/v1/brands/maison/crm/events",
        Some(events),
    )
    .await;
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted"),
        "{answer}"
    );
    let recent = interaction(&app, &advisor, &claire, Utc::now() - Duration::days(2)).await;
    interaction(&app, &advisor, &claire, Utc::now() - Duration::days(120)).await;
    let upcoming = appointment(&app, &advisor, &claire, 3).await;
    let past = appointment(&app, &advisor, &claire, 4).await;
    // An appointment that has taken place (booking refuses the past; time moves on in the table).
    sqlx::query("UPDATE clienteling_appointments SET starts_at = now() - interval '5 days', ends_at = now() - interval '5 days' + interval '30 minutes' WHERE id = $1::uuid")
        .bind(&past)
        .execute(&app.db)
        .await
        .unwrap();

    let (status, page) = view(&app, &advisor.token, &claire, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["client_id"], claire.as_str());

    let header = ok(&page, "header");
    assert_eq!(header["first_name"], "Claire");
    assert_eq!(header["tier"], "platinum");
    assert_eq!(header["store"], "paris-1");
    assert_eq!(header["preferences"]["categories"], json!(["Bags"]));
    assert_eq!(header["important_dates"][0]["label"], "Anniversary");
    assert_eq!(header["advisors"][0]["advisor_id"], advisor.id.to_string());
    assert_eq!(header["advisors"][0]["role"], "primary");
    assert!(header["advisors"][0]["name"].is_string(), "{header}");

    let kpis = ok(&page, "kpis");
    assert_eq!(kpis["currency"], "EUR");
    assert_eq!(kpis["purchases"], 2);
    assert_eq!(kpis["lifetime_spend"], "14580.00");
    assert_eq!(kpis["average_basket"], "7290.00");
    assert_eq!(kpis["days_since_last_purchase"], 10);
    assert_eq!(kpis["interactions_90d"], 1);
    assert_eq!(kpis["days_since_last_contact"], 2);
    assert_eq!(
        kpis["top_categories"],
        json!([{"category": "Bags", "quantity": 3}, {"category": "Jewellery", "quantity": 1}])
    );

    let timeline = ok(&page, "timeline");
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "interaction",
            "appointment",
            "purchase",
            "purchase",
            "interaction"
        ],
        "{timeline}"
    );
    assert_eq!(timeline["items"][0]["id"], recent.as_str());
    assert_eq!(timeline["items"][1]["id"], past.as_str());
    assert_eq!(timeline["items"][2]["details"]["order_id"], "o-2");
    assert!(timeline["next_cursor"].is_null());

    // The CRM's own answer for the same profile.
    let crm = get_json_as(
        &app,
        &marketer,
        &format!("/api/v1/brands/maison/crm/profiles/{claire}/scores"),
    )
    .await;
    let scores = ok(&page, "scores");
    assert!(scores["engagement"]["value"].is_number(), "{scores}");
    assert_eq!(
        scores["engagement"]["value"], crm["scores"]["engagement"]["value"],
        "{crm}"
    );
    assert_eq!(
        scores["churn_risk"]["reasons"], crm["scores"]["churn_risk"]["reasons"],
        "{crm}"
    );

    let consent = ok(&page, "consent")["items"].as_array().unwrap().clone();
    assert_eq!(consent.len(), 40);
    let entry = |channel: &str, purpose: &str| {
        consent
            .iter()
            .find(|e| e["channel"] == channel && e["purpose"] == purpose)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("email", "outreach")["status"], "granted");
    assert_eq!(entry("email", "outreach")["may_contact"], true);
    assert_eq!(entry("email", "outreach")["source"], "boutique:paris-1");
    assert_eq!(entry("whatsapp", "marketing")["may_contact"], false);
    assert_eq!(entry("whatsapp", "marketing")["reason"], "denied");
    assert_eq!(entry("sms", "outreach")["reason"], "no_consent");
    assert_eq!(entry("email", "service")["may_contact"], true);

    let salesforce = ok(&page, "salesforce");
    assert_eq!(salesforce["found"], true);
    assert_eq!(salesforce["contact"]["name"], "Claire Dupont");
    assert_eq!(salesforce["account"]["name"], "Maison Dupont");
    assert_eq!(salesforce["account"]["customer_number"], "MD-0042");
    let cases = salesforce["open_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "the closed case is left out: {salesforce}");
    assert_eq!(cases[0]["subject"], "Strap repair");

    let appointments = ok(&page, "appointments")["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(appointments.len(), 1);
    assert_eq!(appointments[0]["id"], upcoming.as_str());
}

#[tokio::test]
async fn fields_selects_parts_and_an_unknown_part_or_none_is_a_400() {
    let app = spawn_sandboxed_app().await;
    let (advisor, claire) = world(&app).await;
    app.sandbox().clear_requests();

    let (status, page) = view(&app, &advisor.token, &claire, "?fields=header,kpis").await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = page
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "generated_at", "header", "kpis"]);
    ok(&page, "header");
    ok(&page, "kpis");
    assert_eq!(
        app.sandbox().salesforce_queries(),
        0,
        "a part not asked for is not fetched"
    );

    for (query, named) in [
        ("?fields=header,wishlist", "wishlist"),
        ("?fields=bogus", "bogus"),
    ] {
        let response = send(
            &app,
            Method::GET,
            Some(&advisor.token),
            &format!("{}{query}", super::view_path(&claire)),
            None,
        )
        .await;
        assert_eq!(response.status(), 400, "{query}");
        let problem = problem(response).await;
        assert_eq!(code(&problem), "invalid-query-parameter");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{named}`")),
            "{problem}"
        );
    }
    for query in [
        "?fields=",
        "?fields=,",
        "?cursor=not-a-cursor",
        "?limit=abc",
    ] {
        let (status, _) = view(&app, &advisor.token, &claire, query).await;
        assert_eq!(status, 400, "{query}");
    }
    let (status, _) = view(&app, &advisor.token, &claire, "?fields=timeline&limit=0").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_timeline_pages_by_its_cursor_without_gaps_or_repeats() {
    let app = spawn_sandboxed_app().await;
    let (advisor, claire) = world(&app).await;
    let mut logged = Vec::new();
    for days in 1..=5 {
        logged.push(interaction(&app, &advisor, &claire, Utc::now() - Duration::days(days)).await);
    }
    let mut seen = Vec::new();
    let mut query = "?fields=timeline&limit=2".to_owned();
    for expected in [2, 2, 1] {
        let (status, page) = view(&app, &advisor.token, &claire, &query).await;
        assert_eq!(status, 200);
        let timeline = ok(&page, "timeline");
        let items = timeline["items"].as_array().unwrap();
        assert_eq!(items.len(), expected, "{timeline}");
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match timeline["next_cursor"].as_str() {
            Some(cursor) => query = format!("?fields=timeline&limit=2&cursor={cursor}"),
            None => assert_eq!(expected, 1),
        }
    }
    assert_eq!(seen, logged, "newest first, each once");
}
