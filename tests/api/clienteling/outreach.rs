//! Outreach (issue 16): consent per channel (refused: nothing sent, nothing logged as sent), the send path
//! keyed by the request's Idempotency-Key (a retry never sends twice) with one interaction per message,
//! free text refused on e-mail, templates rendered for the client and the advisor, the outreach cap, scope.

use concierge::config::FrequencyCap;
use concierge::crm::consent::Purpose;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{CLIENTS, Person, code, id_of, paris, person, send, tokyo};
use crate::crm_messages::{consent, template_id};
use crate::helpers::{TestApp, customer_token, get_json_as, marketer_token, spawn_sandboxed_app};

struct World {
    app: TestApp,
    advisor: Person,
    marketer: String,
}

async fn world() -> World {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    World {
        app,
        advisor,
        marketer,
    }
}

/// A client of the Paris book with an e-mail and a phone.
async fn client_with_phone(world: &World, phone: &str) -> String {
    let response = send(
        &world.app,
        reqwest::Method::POST,
        Some(&world.advisor.token),
        CLIENTS,
        Some(json!({
            "attributes": { "first_name": "Anne", "last_name": "Roux",
                            "email": format!("{}@example.com", phone.trim_start_matches('+')), "phone": phone },
            "store": "paris-1",
        })),
    )
    .await;
    assert_eq!(response.status(), 201);
    id_of(&response.json().await.unwrap())
}

fn outreach_path(client: &str) -> String {
    format!("{CLIENTS}/{client}/outreach")
}

async fn reach(
    app: &TestApp,
    token: &str,
    client: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&outreach_path(client)))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

async fn interactions(app: &TestApp, token: &str, client: &str) -> Vec<Value> {
    get_json_as(app, token, &format!("{CLIENTS}/{client}/interactions")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn ledger_rows(app: &TestApp, client: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM crm_messages WHERE profile_id = $1")
        .bind(client.parse::<Uuid>().unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_whatsapp_product_share_is_sent_once_and_logged_once_whatever_the_retries() {
    let world = world().await;
    let app = &world.app;
    let phone = "+33612340001";
    let anne = client_with_phone(&world, phone).await;
    consent(
        app,
        &world.marketer,
        "maison",
        anne.parse().unwrap(),
        "whatsapp",
        "outreach",
        "granted",
    )
    .await;
    let body = json!({ "channel": "whatsapp", "text": "Anne, the Capucines you asked about are in.",
                       "skus": ["MA-CAP-001", "MA-CAP-002"] });

    let first = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("share-1"),
        body.clone(),
    )
    .await;
    assert_eq!(first.status(), 201);
    let sent: Value = first.json().await.unwrap();
    let again = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("share-1"),
        body.clone(),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let replayed: Value = again.json().await.unwrap();

    assert_eq!(replayed, sent);
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["channel"], "whatsapp");
    let messages = app.sandbox().messages_to(phone).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(
        messages[0]["body"],
        "Anne, the Capucines you asked about are in."
    );
    let logged = interactions(app, &world.advisor.token, &anne).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["id"], sent["interaction_id"]);
    assert_eq!(logged[0]["channel"], "whatsapp");
    assert_eq!(logged[0]["context"], "product_share");
    assert_eq!(
        logged[0]["metadata"]["skus"],
        json!(["MA-CAP-001", "MA-CAP-002"])
    );
    assert_eq!(logged[0]["metadata"]["message_id"], sent["message_id"]);
    assert_eq!(logged[0]["advisor_id"], world.advisor.id.to_string());

    // The answer lost and the key's record gone (a 5xx forgets it): the same key neither sends nor logs again.
    sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1")
        .bind(world.advisor.id)
        .execute(&app.db)
        .await
        .unwrap();
    let retried = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("share-1"),
        body.clone(),
    )
    .await;
    assert_eq!(retried.status(), 201);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["message_id"], sent["message_id"]);
    assert_eq!(retried["interaction_id"], sent["interaction_id"]);
    assert_eq!(app.sandbox().messages_to(phone).await.len(), 1);
    assert_eq!(
        interactions(app, &world.advisor.token, &anne).await.len(),
        1
    );

    // The key with another body is refused; a new key is a new message.
    let mut other = body.clone();
    other["text"] = json!("Something else");
    let reused = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("share-1"),
        other.clone(),
    )
    .await;
    assert_eq!(reused.status(), 422);
    assert_eq!(
        code(&reused.json().await.unwrap()),
        "idempotency-key-reused"
    );
    let second = reach(app, &world.advisor.token, &anne, Some("share-2"), other).await;
    assert_eq!(second.status(), 201);
    assert_eq!(app.sandbox().messages_to(phone).await.len(), 2);
    // Without a key nothing is tried.
    let keyless = reach(app, &world.advisor.token, &anne, None, body).await;
    assert_eq!(keyless.status(), 400);
}

#[tokio::test]
async fn without_consent_for_the_channel_nothing_is_sent_nor_logged_as_sent() {
    let world = world().await;
    let app = &world.app;
    let phone = "+33612340002";
    let anne = client_with_phone(&world, phone).await;
    let profile: Uuid = anne.parse().unwrap();
    let email_template = template_id(app, &world.marketer, "maison", &json!({
        "name": "New season", "channel": "email", "purpose": "outreach", "fallback_language": "en",
        "variants": [{ "language": "en", "subject": "For you", "body": "Dear {{ profile.first_name }}" }] })).await;
    // Granted for WhatsApp outreach only, and for SMS marketing (another purpose), denied on SMS outreach.
    consent(
        app,
        &world.marketer,
        "maison",
        profile,
        "whatsapp",
        "outreach",
        "granted",
    )
    .await;
    consent(
        app,
        &world.marketer,
        "maison",
        profile,
        "line",
        "marketing",
        "granted",
    )
    .await;
    consent(
        app,
        &world.marketer,
        "maison",
        profile,
        "sms",
        "outreach",
        "denied",
    )
    .await;

    let cases = [
        (
            json!({ "channel": "sms", "text": "Hello" }),
            "consent_denied",
        ),
        (json!({ "channel": "line", "text": "Hello" }), "no_consent"),
        (
            json!({ "channel": "email", "template_id": email_template }),
            "no_consent",
        ),
    ];
    for (n, (body, reason)) in cases.into_iter().enumerate() {
        let channel = body["channel"].as_str().unwrap().to_owned();
        let response = reach(
            app,
            &world.advisor.token,
            &anne,
            Some(&format!("refused-{n}")),
            body,
        )
        .await;
        assert_eq!(response.status(), 409, "{channel}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(code(&problem), "consent-required", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(&channel),
            "{problem}"
        );
        assert_eq!(problem["errors"][0]["field"], "channel");
        assert_eq!(problem["errors"][0]["code"], reason, "{channel}");
    }

    assert!(app.sandbox().messages_to(phone).await.is_empty());
    assert_eq!(
        ledger_rows(app, &anne).await,
        0,
        "the send path was never reached"
    );
    assert!(
        interactions(app, &world.advisor.token, &anne)
            .await
            .is_empty()
    );
    let refused: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, status FROM clienteling_outreach WHERE profile_id = $1 ORDER BY created_at",
    )
    .bind(profile)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        refused,
        [
            ("sms".to_owned(), "suppressed".to_owned()),
            ("line".to_owned(), "suppressed".to_owned()),
            ("email".to_owned(), "suppressed".to_owned())
        ]
    );
    // The channel that was granted goes.
    let response = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("ok"),
        json!({ "channel": "whatsapp", "text": "Hello" }),
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn free_text_is_refused_on_email_and_each_field_is_checked() {
    let world = world().await;
    let app = &world.app;
    let anne = client_with_phone(&world, "+33612340003").await;
    consent(
        app,
        &world.marketer,
        "maison",
        anne.parse().unwrap(),
        "email",
        "outreach",
        "granted",
    )
    .await;
    let marketing = template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("marketing"),
    )
    .await;
    let sms_outreach = template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("outreach"),
    )
    .await;

    let cases = [
        (
            json!({ "channel": "email", "text": "Hi" }),
            "text",
            "free_text_not_allowed",
        ),
        (json!({ "channel": "sms" }), "template_id", "one_of"),
        (
            json!({ "channel": "sms", "text": "Hi", "template_id": sms_outreach }),
            "template_id",
            "one_of",
        ),
        (
            json!({ "channel": "sms", "template_id": marketing }),
            "template_id",
            "not_outreach",
        ),
        (
            json!({ "channel": "whatsapp", "template_id": sms_outreach }),
            "template_id",
            "channel_mismatch",
        ),
        (
            json!({ "channel": "sms", "template_id": Uuid::now_v7() }),
            "template_id",
            "not_found",
        ),
        (
            json!({ "channel": "wechat", "text": "你好" }),
            "channel",
            "not_deliverable",
        ),
        (
            json!({ "channel": "pigeon", "text": "Hi" }),
            "channel",
            "invalid",
        ),
        (json!({ "channel": "sms", "text": " " }), "text", "invalid"),
        (
            json!({ "channel": "sms", "text": "Hi", "skus": ["not a sku"] }),
            "skus[0]",
            "invalid",
        ),
        (
            json!({ "channel": "sms", "text": "Hi", "language": "not a language!" }),
            "language",
            "invalid_locale",
        ),
    ];
    for (n, (body, field, rule)) in cases.into_iter().enumerate() {
        let response = reach(
            app,
            &world.advisor.token,
            &anne,
            Some(&format!("bad-{n}")),
            body.clone(),
        )
        .await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        let found = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == field && (e["code"] == rule || field == "skus[0]"));
        assert!(found, "{body} → {problem}");
    }
    let unknown_field = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("bad-x"),
        json!({ "channel": "sms", "text": "Hi", "to": "+1" }),
    )
    .await;
    assert_eq!(unknown_field.status(), 422);
    assert_eq!(ledger_rows(app, &anne).await, 0);
}

#[tokio::test]
async fn a_template_renders_for_the_client_and_the_advisor_and_the_outreach_cap_holds() {
    let world = world().await;
    let app = &world.app;
    let phone = "+33612340004";
    let anne = client_with_phone(&world, phone).await;
    let profile: Uuid = anne.parse().unwrap();
    consent(
        app,
        &world.marketer,
        "maison",
        profile,
        "sms",
        "outreach",
        "granted",
    )
    .await;
    let template = template_id(app, &world.marketer, "maison", &json!({
        "name": "Back in store", "channel": "sms", "purpose": "outreach", "fallback_language": "en",
        "variants": [{ "language": "en", "body": "Dear {{ profile.first_name }}, {{ advisor.first_name }} of {{ brand.name }} here." }] })).await;
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .unwrap()
        .unwrap();
    concierge::crm::messages::set_frequency_cap(
        &app.db,
        brand.id,
        Purpose::Outreach,
        Some(FrequencyCap {
            max_messages: 2,
            window_secs: 86_400,
        }),
    )
    .await
    .unwrap();

    let preview = send(
        app,
        reqwest::Method::POST,
        Some(&world.advisor.token),
        &format!("{}/preview", outreach_path(&anne)),
        Some(json!({ "template_id": template })),
    )
    .await;
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["body"], "Dear Anne, Sam of Maison here.");
    assert_eq!(preview["channel"], "sms");
    assert_eq!(preview["consent"]["allowed"], true);
    let marketing = template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("marketing"),
    )
    .await;
    let refused = send(
        app,
        reqwest::Method::POST,
        Some(&world.advisor.token),
        &format!("{}/preview", outreach_path(&anne)),
        Some(json!({ "template_id": marketing })),
    )
    .await;
    assert_eq!(refused.status(), 422);

    for key in ["t-1", "t-2"] {
        let response = reach(
            app,
            &world.advisor.token,
            &anne,
            Some(key),
            json!({ "channel": "sms", "template_id": template }),
        )
        .await;
        assert_eq!(response.status(), 201, "{key}");
    }
    let capped = reach(
        app,
        &world.advisor.token,
        &anne,
        Some("t-3"),
        json!({ "channel": "sms", "text": "One more" }),
    )
    .await;

    assert_eq!(capped.status(), 409);
    assert_eq!(code(&capped.json().await.unwrap()), "frequency-capped");
    let messages = app.sandbox().messages_to(phone).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["body"], "Dear Anne, Sam of Maison here.");
    let logged = interactions(app, &world.advisor.token, &anne).await;
    assert_eq!(logged.len(), 2, "the capped one is not logged");
    assert_eq!(logged[0]["context"], "generic");
    assert_eq!(logged[0]["metadata"]["topic"], "Back in store");
}

#[tokio::test]
async fn outreach_reaches_only_clients_in_the_callers_book() {
    let world = world().await;
    let app = &world.app;
    let anne = client_with_phone(&world, "+33612340005").await;
    consent(
        app,
        &world.marketer,
        "maison",
        anne.parse().unwrap(),
        "sms",
        "outreach",
        "granted",
    )
    .await;
    let template = template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("outreach"),
    )
    .await;
    let tokyo_advisor = tokyo(app).await;
    let milan = person(
        app,
        "ca.milan@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let customer = customer_token(app, "someone@example.com").await;
    let body = json!({ "channel": "sms", "text": "Hi" });
    let preview_body = json!({ "template_id": template });
    let preview_path = format!("{}/preview", outreach_path(&anne));

    for (token, status) in [
        (&tokyo_advisor.token, 404),
        (&milan.token, 404),
        (&world.marketer, 403),
        (&customer, 403),
    ] {
        let response = reach(app, token, &anne, Some("intruder"), body.clone()).await;
        assert_eq!(response.status(), status);
        let response = send(
            app,
            reqwest::Method::POST,
            Some(token),
            &preview_path,
            Some(preview_body.clone()),
        )
        .await;
        assert_eq!(response.status(), status);
    }
    let atelier = format!("/api/v1/brands/atelier/clienteling/clients/{anne}/outreach");
    let response = app
        .client
        .post(app.url(&atelier))
        .bearer_auth(&milan.token)
        .header("Idempotency-Key", "x")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let anonymous = app
        .client
        .post(app.url(&outreach_path(&anne)))
        .header("Idempotency-Key", "x")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown = reach(
        app,
        &world.advisor.token,
        &Uuid::now_v7().to_string(),
        Some("u"),
        body,
    )
    .await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(ledger_rows(app, &anne).await, 0);
}

/// Advisors cannot manage templates (`…/crm/templates` is the marketers'), so they pick an outreach template
/// from their own list: the brand's outreach templates only, filtered by channel, never another brand's.
#[tokio::test]
async fn advisors_list_their_brands_outreach_templates_only() {
    let world = world().await;
    let app = &world.app;
    let whatsapp = template_id(app, &world.marketer, "maison", &json!({
        "name": "Product share", "channel": "whatsapp", "purpose": "outreach", "fallback_language": "en",
        "variants": [{ "language": "en", "body": "Hello {{ profile.first_name }}" },
                     { "language": "fr", "body": "Bonjour {{ profile.first_name }}" }] })).await;
    let sms = template_id(
        app,
        &world.marketer,
        "maison",
        &json!({
        "name": "Back in store", "channel": "sms", "purpose": "outreach", "fallback_language": "en",
        "variants": [{ "language": "en", "body": "Dear {{ profile.first_name }}" }] }),
    )
    .await;
    template_id(
        app,
        &world.marketer,
        "maison",
        &crate::crm_messages::sms_template("marketing"),
    )
    .await;
    let atelier = marketer_token(app, "mkt@atelier.example", "atelier").await;
    template_id(app, &atelier, "atelier", &json!({
        "name": "Atelier share", "channel": "whatsapp", "purpose": "outreach", "fallback_language": "en",
        "variants": [{ "language": "en", "body": "Ciao {{ profile.first_name }}" }] })).await;
    let path = "/api/v1/brands/maison/clienteling/outreach/templates";

    let all = get_json_as(app, &world.advisor.token, path).await;
    let ids: Vec<&str> = (all["items"].as_array().unwrap().iter())
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sms.to_string(), whatsapp.to_string()], "{all}");
    assert_eq!(all["items"][1]["languages"], json!(["en", "fr"]));
    assert_eq!(all["items"][1]["channel"], "whatsapp");

    let only = get_json_as(
        app,
        &world.advisor.token,
        &format!("{path}?channel=whatsapp"),
    )
    .await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only["items"][0]["id"], whatsapp.to_string());

    let unknown = send(
        app,
        reqwest::Method::GET,
        Some(&world.advisor.token),
        &format!("{path}?channel=pigeon"),
        None,
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let problem: Value = unknown.json().await.unwrap();
    assert_eq!(problem["errors"][0]["code"], "unknown_channel", "{problem}");
    let stray = send(
        app,
        reqwest::Method::GET,
        Some(&world.advisor.token),
        &format!("{path}?purpose=marketing"),
        None,
    )
    .await;
    assert_eq!(stray.status(), 400);
    let other_brand = send(
        app,
        reqwest::Method::GET,
        Some(&world.advisor.token),
        "/api/v1/brands/atelier/clienteling/outreach/templates",
        None,
    )
    .await;
    assert_eq!(other_brand.status(), 404);
    let customer = customer_token(app, "shopper@example.com").await;
    let refused = send(app, reqwest::Method::GET, Some(&customer), path, None).await;
    assert_eq!(refused.status(), 403);
    let anonymous = send(app, reqwest::Method::GET, None, path, None).await;
    assert_eq!(anonymous.status(), 401);
}
