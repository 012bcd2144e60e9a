//! The product repeats a few of the sandbox's demo ids (the sandbox is not part of the product); they must
//! stay the sandbox's.

use concierge::seed::{DEMO_CUSTOMER, sandbox_demo_customer};
use concierge_sandbox::demo;

#[test]
fn the_demo_login_is_linked_to_the_sandboxs_first_demo_customer() {
    let customer = &demo::CUSTOMERS[0];
    assert_eq!(customer.email, DEMO_CUSTOMER.0);
    assert_eq!(
        i64::from(customer.whmcs_client_id),
        sandbox_demo_customer::WHMCS_CLIENT_ID
    );
    assert_eq!(
        customer.account_id,
        sandbox_demo_customer::SALESFORCE_ACCOUNT_ID
    );
    assert_eq!(
        customer.contact_id,
        sandbox_demo_customer::SALESFORCE_CONTACT_ID
    );
}

#[test]
fn the_plan_codes_the_portal_accepts_are_the_sandboxs_plans() {
    assert_eq!(concierge::subscriptions::PLANS, demo::PLANS);
}

/// The demo users have published passwords: `concierge seed` refuses to create them in production (issue 10,
/// item 20), and nothing is written.
#[tokio::test]
async fn seeding_refuses_to_run_in_production() {
    let database = crate::helpers::fresh_database().await;
    let mut settings = crate::helpers::test_settings(&database);
    settings.environment = concierge::config::Environment::Production;
    let pool = sqlx::PgPool::connect(&crate::helpers::database_url(&database))
        .await
        .unwrap();

    let error = concierge::seed::run(&pool, &settings).await.unwrap_err();

    assert!(error.to_string().contains("production"), "{error}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[test]
fn the_demo_social_accounts_are_the_ones_the_sandbox_knows() {
    use concierge::social::demo as ours;
    use concierge_sandbox::demo::social as theirs;
    assert_eq!(ours::FACEBOOK_PAGE_ID, theirs::FACEBOOK_PAGE_ID);
    assert_eq!(ours::FACEBOOK_PAGE_TOKEN, theirs::FACEBOOK_PAGE_TOKEN);
    assert_eq!(ours::INSTAGRAM_USER_ID, theirs::INSTAGRAM_USER_ID);
    assert_eq!(ours::INSTAGRAM_TOKEN, theirs::INSTAGRAM_TOKEN);
    assert_eq!(ours::X_USER_ID, theirs::X_USER_ID);
    assert_eq!(ours::X_ACCESS_TOKEN, theirs::X_ACCESS_TOKEN);
    assert_eq!(ours::X_REFRESH_TOKEN, theirs::X_REFRESH_TOKEN);
}

/// `concierge seed` connects the three demo accounts to `maison`, and reseeding reconnects them (one each).
#[tokio::test]
async fn seeding_connects_the_demo_social_accounts_once() {
    let app = crate::helpers::spawn_app().await;
    concierge::seed::run(&app.db, &app.state.settings)
        .await
        .unwrap();
    let report = concierge::seed::run(&app.db, &app.state.settings)
        .await
        .unwrap();
    assert!(report.contains("social account x"), "{report}");
    let networks: Vec<String> = sqlx::query_scalar(
        "SELECT a.network FROM social_accounts a JOIN brands b ON b.id = a.brand_id
         WHERE b.slug = 'maison' AND a.deleted_at IS NULL ORDER BY a.network",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(networks, ["facebook", "instagram", "x"]);
}

/// What a marketer of `maison` walks through for issue 13 (`scripts/demo/13-campaign.sh`) is there after
/// `concierge seed`, once however often it runs: the `timezone` attribute, the demo segment with the gold and
/// platinum demo clients as members, the winter campaign in draft to it, and the demo clients' consents.
#[tokio::test]
async fn seeding_prepares_the_marketers_walk_through_once() {
    let app = crate::helpers::spawn_app().await;
    concierge::seed::run(&app.db, &app.state.settings)
        .await
        .unwrap();
    concierge::seed::run(&app.db, &app.state.settings)
        .await
        .unwrap();
    let token = crate::helpers::marketer_token(&app, "walk.marketer@example.com", "maison").await;
    let get = |path: String| {
        let token = token.clone();
        let app = &app;
        async move { crate::helpers::get_json_as(app, &token, &path).await }
    };

    let attributes = get("/api/v1/brands/maison/crm/attributes".into()).await;
    let names: Vec<&str> = (attributes["items"].as_array().unwrap().iter())
        .filter_map(|attribute| attribute["name"].as_str())
        .collect();
    assert!(names.contains(&"timezone"), "{attributes}");

    let campaigns = get("/api/v1/brands/maison/crm/campaigns?limit=100".into()).await;
    let drafts: Vec<&serde_json::Value> = (campaigns["items"].as_array().unwrap().iter())
        .filter(|campaign| campaign["name"] == concierge::crm::campaigns::DEMO_CAMPAIGN)
        .collect();
    assert_eq!(drafts.len(), 1, "{campaigns}");
    assert_eq!(drafts[0]["status"], "draft");
    assert_eq!(drafts[0]["channel"], "email");

    let segment = get(format!(
        "/api/v1/brands/maison/crm/segments/{}",
        drafts[0]["segment_id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(segment["slug"], concierge::crm::segments::DEMO_SEGMENT);
    let members = get(format!(
        "/api/v1/brands/maison/crm/segments/{}/members",
        segment["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 3, "{members}");

    let elodie =
        get("/api/v1/brands/maison/crm/profiles?identifier=email:elodie.dupont@example.com".into())
            .await;
    let elodie = &elodie["items"][0];
    assert_eq!(elodie["attributes"]["phone"], "+33612345001");
    // Two demo purchases, however often the seed ran (their event ids are the orders').
    assert_eq!(
        elodie["counters"]["activity_counts"]["purchase"], 2,
        "{elodie}"
    );
    let lifetime: f64 = elodie["counters"]["lifetime_value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lifetime, 14_620.0, "{elodie}");
    // The 360's live Salesforce part (issue 16's walk-through) reads the contact the seed links.
    assert!(
        (elodie["identifiers"].as_array().unwrap().iter())
            .any(|i| i["kind"] == "salesforce_contact" && i["value"] == "003SBLUX0000001AAA"),
        "{elodie}"
    );
    let templates = get("/api/v1/brands/maison/crm/templates".into()).await;
    assert!(
        (templates["items"].as_array().unwrap().iter()).any(|t| t["name"] == "Product share"
            && t["channel"] == "whatsapp"
            && t["purpose"] == "outreach"),
        "{templates}"
    );
    let consents = get(format!(
        "/api/v1/brands/maison/crm/profiles/{}/consents",
        elodie["id"].as_str().unwrap()
    ))
    .await;
    let status = |channel: &str, purpose: &str| {
        (consents["items"].as_array().unwrap().iter())
            .find(|c| c["channel"] == channel && c["purpose"] == purpose)
            .map(|c| c["status"].clone())
    };
    assert_eq!(
        status("email", "marketing"),
        Some("granted".into()),
        "{consents}"
    );
    assert_eq!(status("whatsapp", "outreach"), Some("granted".into()));
    assert_eq!(status("sms", "marketing"), Some("unknown".into()));
}

/// The demo clients' Salesforce contacts are the sandbox's, with the same e-mail, and every demo client has one.
#[test]
fn the_demo_clients_are_linked_to_the_sandboxs_luxury_contacts() {
    use concierge::clienteling::seed::{DEMO_CLIENTS, DEMO_SALESFORCE_CONTACTS};
    use concierge_sandbox::salesforce::luxury_clients::CLIENTS;
    for client in &DEMO_CLIENTS {
        let email = client.5;
        let (_, contact_id) = DEMO_SALESFORCE_CONTACTS
            .iter()
            .find(|(linked, _)| *linked == email)
            .unwrap_or_else(|| panic!("{email} has no Salesforce contact"));
        let sandbox = CLIENTS
            .iter()
            .find(|sandbox| sandbox.contact_id == *contact_id)
            .unwrap_or_else(|| panic!("the sandbox has no contact {contact_id}"));
        assert_eq!(sandbox.email, email);
        assert_eq!((sandbox.brand, sandbox.first_name), (client.0, client.3));
    }
}
