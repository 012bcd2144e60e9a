//! The suppression list: after an erasure, a replayed event, a resolve, a client filed with the address or an
//! identifier added by hand can never recreate or re-link the person; each is refused `erased`, nothing is
//! written.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{EMAIL, MEMBER, PHONE, events, history, person};
use crate::helpers::{problem, send, spawn_sandboxed_app};

fn codes(result: &Value) -> Vec<String> {
    result["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} {}",
                e["field"].as_str().unwrap_or_default(),
                e["code"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

async fn profiles(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_replayed_event_or_a_resolve_with_an_erased_identifier_is_refused_and_recreates_nobody() {
    let app = spawn_sandboxed_app().await;
    let person = person(&app).await;
    concierge::crm::erasure::erase_profile(
        &app.db,
        person.brand_id,
        person.profile_id,
        "admin:test",
    )
    .await
    .unwrap()
    .unwrap();
    let count = profiles(&app).await;

    // The same events again: their ids were applied, they are duplicates (of the anonymous profile).
    let replay = events(&app, &person.marketer, &history()).await;
    for result in replay["results"].as_array().unwrap() {
        assert_eq!(result["status"], "duplicate", "{result}");
    }
    // Re-sent under new ids (a replay from another source): refused, per identifier, with `erased`.
    let mut renamed = history();
    for (index, event) in renamed.as_array_mut().unwrap().iter_mut().enumerate() {
        event["id"] = json!(format!("replayed-{index}"));
    }
    // And the phone alone, and the email in another spelling next to an identifier never seen.
    renamed.as_array_mut().unwrap().push(json!({
        "id": "replayed-phone", "type": "page_view", "occurred_at": "2026-11-05T10:00:00Z",
        "identifiers": [{"kind": "phone", "value": "+33 6 98 76 54 32"}],
        "properties": {"url": "https://maison.example/"}}));
    renamed.as_array_mut().unwrap().push(json!({
        "id": "replayed-spelling", "type": "page_view", "occurred_at": "2026-11-05T10:00:00Z",
        "identifiers": [{"kind": "scl_member", "value": "NEW-1"}, {"kind": "email", "value": "  Margaux.Villeneuve@EXAMPLE.com"}],
        "traits": {"first_name": "Margaux"}, "properties": {"url": "https://maison.example/"}}));
    let refused = events(&app, &person.marketer, &renamed).await;
    let results = refused["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for result in results {
        assert_eq!(result["status"], "rejected", "{result}");
        assert!(result.get("profile_id").is_none(), "{result}");
        assert!(
            !codes(result).is_empty() && codes(result).iter().all(|c| c.ends_with(" erased")),
            "{result}"
        );
    }
    assert_eq!(
        codes(&results[0]),
        [
            "/0/identifiers/0/value erased",
            "/0/identifiers/1/value erased",
            "/0/traits/email erased",
            "/0/traits/phone erased"
        ]
    );
    assert_eq!(
        codes(&results[4]),
        ["/4/identifiers/1/value erased"],
        "only the erased identifier is named"
    );
    assert_eq!(profiles(&app).await, count, "nobody recreated");
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE value IN ($1, $2, 'NEW-1')")
            .bind(EMAIL)
            .bind(MEMBER)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(held, 0, "nothing attached");

    // A resolve through the API.
    let resolve = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        "/api/v1/brands/maison/crm/profiles",
        Some(json!({"identifiers": [{"kind": "email", "value": EMAIL}], "attributes": {"first_name": "Margaux"}})),
    )
    .await;
    assert_eq!(resolve.status(), 422);
    let body = problem(resolve).await;
    assert_eq!(codes(&body), ["identifiers/0/value erased"], "{body}");
    // An advisor filing the person again.
    let filed = send(
        &app,
        Method::POST,
        Some(&person.advisor),
        "/api/v1/brands/maison/clienteling/clients",
        Some(json!({"attributes": {"first_name": "Margaux", "phone": PHONE}, "store": "paris-1"})),
    )
    .await;
    assert_eq!(filed.status(), 422);
    assert_eq!(codes(&problem(filed).await), ["attributes.phone erased"]);
    // The identifier added by hand to someone else.
    let bruno = events(&app, &person.marketer, &json!([{"id": "b-1", "type": "signup",
        "occurred_at": "2026-11-01T10:00:00Z", "identifiers": [{"kind": "email", "value": "bruno@example.com"}]}])).await;
    let bruno = bruno["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        &format!("/api/v1/brands/maison/crm/profiles/{bruno}/identifiers"),
        Some(json!({"kind": "scl_member", "value": MEMBER})),
    )
    .await;
    assert_eq!(added.status(), 422);
    assert_eq!(codes(&problem(added).await), ["value erased"]);
    assert_eq!(profiles(&app).await, count + 1, "only Bruno is new");
}

#[tokio::test]
async fn the_suppression_list_is_per_brand_and_holds_no_identifier_in_clear() {
    let app = spawn_sandboxed_app().await;
    let person = person(&app).await;
    concierge::crm::erasure::erase_profile(
        &app.db,
        person.brand_id,
        person.profile_id,
        "admin:test",
    )
    .await
    .unwrap()
    .unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, digest FROM crm_suppressions ORDER BY kind")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["email", "phone", "scl_member"], "{rows:?}");
    let digest = &rows[0].1;
    assert_eq!(digest.len(), 64);
    // Not a bare SHA-256 of the address: the server's key is needed to recompute it.
    let bare = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, EMAIL.as_bytes());
    let bare: String = bare.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(digest, &bare);

    // Another brand may still know someone by that address.
    let atelier = crate::helpers::marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let answer = app
        .client
        .post(app.url("/api/v1/brands/atelier/crm/events"))
        .bearer_auth(&atelier)
        .json(
            &json!([{"id": "a-1", "type": "signup", "occurred_at": "2026-11-01T10:00:00Z",
                       "identifiers": [{"kind": "email", "value": EMAIL}]}]),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
}

async fn erased_person(app: &crate::helpers::TestApp) -> super::support::Person {
    let person = person(app).await;
    concierge::crm::erasure::erase_profile(
        &app.db,
        person.brand_id,
        person.profile_id,
        "admin:test",
    )
    .await
    .unwrap()
    .unwrap();
    person
}

#[tokio::test]
async fn a_recycled_phone_number_is_left_out_and_the_new_owner_resolves_by_the_rest() {
    let app = spawn_sandboxed_app().await;
    let person = erased_person(&app).await;

    // The number now belongs to someone else, who signs up with their own address.
    let signup = events(&app, &person.marketer, &json!([{
        "id": "new-owner-1", "type": "signup", "occurred_at": "2026-11-20T10:00:00Z",
        "identifiers": [{"kind": "email", "value": "chloe@example.com"}, {"kind": "phone", "value": PHONE}],
        "traits": {"first_name": "Chloé", "phone": PHONE}}])).await;
    let result = &signup["results"][0];
    assert_eq!(result["status"], "accepted", "{signup}");
    let chloe = result["profile_id"].as_str().unwrap().to_owned();
    assert_ne!(chloe, person.profile_id.to_string());
    let (first_name, phone): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT first_name, phone FROM crm_profiles WHERE id = $1::uuid")
            .bind(&chloe)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(first_name.as_deref(), Some("Chloé"));
    assert_eq!(
        phone, None,
        "the erased person's number is not written back"
    );
    let held: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM crm_identifiers WHERE profile_id = $1::uuid ORDER BY kind",
    )
    .bind(&chloe)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(held, ["email"]);

    // Through the resolve API the left-out number is reported, not silently skipped.
    let resolve = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        "/api/v1/brands/maison/crm/profiles",
        Some(
            json!({"identifiers": [{"kind": "email", "value": "chloe@example.com"},
                                    {"kind": "phone", "value": PHONE}]}),
        ),
    )
    .await;
    assert_eq!(resolve.status(), 200);
    let body: Value = resolve.json().await.unwrap();
    let phone = body["outcome"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "phone")
        .cloned()
        .unwrap();
    assert_eq!(phone["status"], "refused", "{body}");
    assert_eq!(phone["refusal"], "erased", "{body}");

    // The number alone still names nobody.
    let alone = events(
        &app,
        &person.marketer,
        &json!([{
        "id": "phone-alone", "type": "page_view", "occurred_at": "2026-11-20T11:00:00Z",
        "identifiers": [{"kind": "phone", "value": PHONE}],
        "properties": {"url": "https://maison.example/"}}]),
    )
    .await;
    assert_eq!(alone["results"][0]["status"], "rejected", "{alone}");
    assert_eq!(
        codes(&alone["results"][0]),
        ["/0/identifiers/0/value erased"]
    );
}

#[tokio::test]
async fn an_erased_address_in_the_traits_is_refused_like_an_identifier() {
    let app = spawn_sandboxed_app().await;
    let person = erased_person(&app).await;
    let count = profiles(&app).await;

    let replay = events(
        &app,
        &person.marketer,
        &json!([{
        "id": "new-id-old-address", "type": "signup", "occurred_at": "2026-11-20T10:00:00Z",
        "identifiers": [{"kind": "scl_member", "value": "NEW-2"}],
        "traits": {"first_name": "Margaux", "email": "Margaux.Villeneuve@example.com"}}]),
    )
    .await;
    let result = &replay["results"][0];
    assert_eq!(result["status"], "rejected", "{replay}");
    assert_eq!(codes(result), ["/0/traits/email erased"]);
    let resolve = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        "/api/v1/brands/maison/crm/profiles",
        Some(
            json!({"identifiers": [{"kind": "scl_member", "value": "NEW-3"}],
                    "attributes": {"email": EMAIL}}),
        ),
    )
    .await;
    assert_eq!(resolve.status(), 422);
    assert_eq!(codes(&problem(resolve).await), ["attributes/email erased"]);
    assert_eq!(profiles(&app).await, count, "nobody created");

    // Nor by hand, onto someone else.
    let bruno = events(&app, &person.marketer, &json!([{"id": "b-2", "type": "signup",
        "occurred_at": "2026-11-01T10:00:00Z", "identifiers": [{"kind": "email", "value": "bruno@example.com"}]}])).await;
    let bruno = bruno["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/brands/maison/crm/profiles/{bruno}")))
        .bearer_auth(&person.marketer)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"attributes": {"email": "MARGAUX.villeneuve@example.com"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 422);
    assert_eq!(codes(&problem(patched).await), ["attributes/email erased"]);
}

#[tokio::test]
async fn an_erased_profile_takes_no_new_attributes_identifiers_consent_or_merge() {
    let app = spawn_sandboxed_app().await;
    let person = erased_person(&app).await;
    let erased = person.profile_id;
    let path = format!("/api/v1/brands/maison/crm/profiles/{erased}");

    let patched = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&person.marketer)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"attributes": {"first_name": "Margaux"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 409);
    assert_eq!(problem(patched).await["code"], "profile-erased");
    let added = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        &format!("{path}/identifiers"),
        Some(json!({"kind": "scl_member", "value": "FRESH-1"})),
    )
    .await;
    assert_eq!(added.status(), 409);
    assert_eq!(problem(added).await["code"], "profile-erased");
    let consent = send(
        &app,
        Method::PUT,
        Some(&person.marketer),
        &format!("{path}/consents/email/marketing"),
        Some(json!({"status": "granted", "source": "form"})),
    )
    .await;
    assert_eq!(consent.status(), 409);
    assert_eq!(problem(consent).await["code"], "profile-erased");

    let other = events(&app, &person.marketer, &json!([{"id": "o-1", "type": "signup",
        "occurred_at": "2026-11-01T10:00:00Z", "identifiers": [{"kind": "email", "value": "other@example.com"}],
        "traits": {"first_name": "Other"}}])).await;
    let other = other["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (survivor, absorbed) in [
        (erased.to_string(), other.clone()),
        (other.clone(), erased.to_string()),
    ] {
        for dry_run in [true, false] {
            let merge = send(
                &app,
                Method::POST,
                Some(&person.marketer),
                "/api/v1/brands/maison/crm/merges",
                Some(json!({"survivor_id": survivor, "absorbed_ids": [absorbed], "dry_run": dry_run})),
            )
            .await;
            assert_eq!(merge.status(), 409, "{survivor} <- {absorbed}");
            assert_eq!(problem(merge).await["code"], "profile-erased");
        }
    }
    let (first_name, merged_into): (Option<String>, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT first_name, merged_into FROM crm_profiles WHERE id = $1")
            .bind(erased)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((first_name, merged_into), (None, None));
    let identifiers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_identifiers WHERE profile_id = $1")
            .bind(erased)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(identifiers, 0);
}
