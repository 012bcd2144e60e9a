//! Merges and unmerges made without events (the merge API, a resolution through the resolve API) move
//! segment membership in their own transaction: the absorbed profile leaves every segment, the survivor is
//! re-evaluated (and takes the static memberships); an unmerge re-evaluates both and gives the static ones
//! back. History reason `merge` / `unmerge`, and the outbox events, as for events.

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{brand_id, create, get, members, post};
use crate::helpers::{TestApp, marketer_token, spawn_app};

pub async fn ingest(app: &TestApp, token: &str, events: Value) -> Uuid {
    let (status, answer) = post(app, token, "/api/v1/brands/maison/crm/events", &events).await;
    assert_eq!(status, 200, "{answer}");
    for result in answer["results"].as_array().unwrap() {
        assert_eq!(result["status"], "accepted", "{answer}");
    }
    answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn purchase(id: &str, email: &str) -> Value {
    json!({"id": id, "type": "purchase", "occurred_at": Utc::now().to_rfc3339(),
           "identifiers": [{"kind": "email", "value": email}],
           "properties": {"order_id": id, "amount": "120.00", "currency": "EUR"}})
}

pub fn page_view(id: &str, loyalty: &str) -> Value {
    json!({"id": id, "type": "page_view", "occurred_at": Utc::now().to_rfc3339(),
           "identifiers": [{"kind": "loyalty_id", "value": loyalty}],
           "properties": {"url": "https://maison.example/"}})
}

/// `(profile, change, reason)` of a segment's history, newest first.
async fn history(app: &TestApp, token: &str, segment: &str) -> Vec<(Uuid, String, String)> {
    let (status, page) = get(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/segments/{segment}/history"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["profile_id"].as_str().unwrap().parse().unwrap(),
                e["change"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The `(reason, entered, exited)` of the segment's `crm.segment.membership.changed` events, in order.
async fn announced(app: &TestApp, segment: &str) -> Vec<(String, Value, Value)> {
    let payloads: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.segment.membership.changed'
         AND aggregate_id = $1 ORDER BY created_at, id",
    )
    .bind(segment)
    .fetch_all(&app.db)
    .await
    .unwrap();
    payloads
        .into_iter()
        .map(|p| {
            (
                p["reason"].as_str().unwrap().to_owned(),
                p["entered"].clone(),
                p["exited"].clone(),
            )
        })
        .collect()
}

async fn segment(app: &TestApp, token: &str, body: Value) -> String {
    create(app, token, "maison", &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Setup {
    token: String,
    /// Two purchases by email: in `buyers`, `guests` (by hand) and `gala` (by hand).
    absorbed: Uuid,
    /// One page view by loyalty id: in nothing.
    survivor: Uuid,
    buyers: String,
    both: String,
    guests: String,
    nested: String,
    gala: String,
}

async fn setup(app: &TestApp) -> Setup {
    let token = marketer_token(app, "mkt@maison.example", "maison").await;
    brand_id(app, "maison").await;
    let buyers = segment(
        app,
        &token,
        json!({"slug": "buyers", "name": "Two purchases",
        "rule": {"activity": "purchase", "count": {"gte": 2}}}),
    )
    .await;
    // Neither profile alone: the merged one has both.
    let both = segment(app, &token, json!({"slug": "both", "name": "Buys and browses",
        "rule": {"all": [{"activity": "purchase", "count": {"gte": 2}}, {"activity": "page_view"}]}}))
    .await;
    let guests = segment(
        app,
        &token,
        json!({"slug": "guests", "name": "Guests", "kind": "static"}),
    )
    .await;
    let nested = segment(
        app,
        &token,
        json!({"slug": "guests-too", "name": "Guests (nested)",
        "rule": {"segment": "guests", "is": "member"}}),
    )
    .await;
    let gala = segment(
        app,
        &token,
        json!({"slug": "gala", "name": "Gala", "kind": "static"}),
    )
    .await;
    let absorbed = ingest(
        app,
        &token,
        json!([
            purchase("a1", "ann@example.com"),
            purchase("a2", "ann@example.com")
        ]),
    )
    .await;
    let survivor = ingest(app, &token, json!([page_view("b1", "l1042")])).await;
    for static_segment in [&guests, &gala] {
        let (status, body) = post(
            app,
            &token,
            &format!("/api/v1/brands/maison/crm/segments/{static_segment}/members"),
            &json!({"add": [absorbed]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(members(app, &buyers).await, vec![absorbed]);
    assert_eq!(members(app, &nested).await, vec![absorbed]);
    assert!(members(app, &both).await.is_empty());
    Setup {
        token,
        absorbed,
        survivor,
        buyers,
        both,
        guests,
        nested,
        gala,
    }
}

async fn merge(app: &TestApp, token: &str, survivor: Uuid, absorbed: Uuid) -> (u16, Value) {
    post(
        app,
        token,
        "/api/v1/brands/maison/crm/merges",
        &json!({"survivor_id": survivor, "absorbed_ids": [absorbed]}),
    )
    .await
}

#[tokio::test]
async fn a_merge_moves_membership_to_the_survivor_at_once_with_history_and_events() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs = create(
        &app,
        &other,
        "atelier",
        &json!({"slug": "untiered", "name": "No tier",
        "rule": {"attribute": "tier", "op": "missing"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another brand's marketer cannot merge these profiles, and nothing moves.
    let (status, body) = post(
        &app,
        &other,
        "/api/v1/brands/atelier/crm/merges",
        &json!({"survivor_id": s.survivor, "absorbed_ids": [s.absorbed]}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(members(&app, &s.buyers).await, vec![s.absorbed]);

    // A dry run writes nothing, membership included.
    let (status, body) = post(
        &app,
        &s.token,
        "/api/v1/brands/maison/crm/merges",
        &json!({"survivor_id": s.survivor, "absorbed_ids": [s.absorbed], "dry_run": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(members(&app, &s.buyers).await, vec![s.absorbed]);

    let (status, body) = merge(&app, &s.token, s.survivor, s.absorbed).await;
    assert_eq!(status, 201, "{body}");
    for segment in [&s.buyers, &s.both, &s.guests, &s.nested, &s.gala] {
        assert_eq!(members(&app, segment).await, vec![s.survivor], "{segment}");
    }
    let merged = |who: Uuid, change: &str| (who, change.to_owned(), "merge".to_owned());
    let buyers = history(&app, &s.token, &s.buyers).await;
    assert_eq!(buyers.len(), 3, "{buyers:?}");
    assert!(buyers.contains(&merged(s.absorbed, "exited")), "{buyers:?}");
    assert!(
        buyers.contains(&merged(s.survivor, "entered")),
        "{buyers:?}"
    );
    assert_eq!(
        history(&app, &s.token, &s.both).await,
        [merged(s.survivor, "entered")]
    );
    let guests = history(&app, &s.token, &s.guests).await;
    assert!(guests.contains(&merged(s.absorbed, "exited")), "{guests:?}");
    assert!(
        guests.contains(&merged(s.survivor, "entered")),
        "{guests:?}"
    );
    let events = announced(&app, &s.buyers).await;
    assert!(
        events.contains(&("merge".to_owned(), json!([]), json!([s.absorbed]))),
        "{events:?}"
    );
    assert!(
        events.contains(&("merge".to_owned(), json!([s.survivor]), json!([]))),
        "{events:?}"
    );
    // The survivor's profile view lists its segments; the other brand saw nothing.
    let (_, listed) = get(
        &app,
        &s.token,
        &format!("/api/v1/brands/maison/crm/profiles/{}/segments", s.survivor),
    )
    .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(5),
        "{listed}"
    );
    assert!(members(&app, &theirs).await.is_empty());
    let atelier = brand_id(&app, "atelier").await;
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_segment_history WHERE brand_id = $1")
            .bind(atelier)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn an_unmerge_reevaluates_both_and_gives_the_static_memberships_back() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (status, body) = merge(&app, &s.token, s.survivor, s.absorbed).await;
    assert_eq!(status, 201, "{body}");
    let merge_id = body["merge"]["id"].as_str().unwrap().to_owned();
    // After the merge, the survivor's gala membership is set again by hand: that later change stands.
    for change in ["remove", "add"] {
        let (status, body) = post(
            &app,
            &s.token,
            &format!("/api/v1/brands/maison/crm/segments/{}/members", s.gala),
            &json!({ change: [s.survivor] }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    let (status, body) = post(
        &app,
        &s.token,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}/unmerge"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(members(&app, &s.buyers).await, vec![s.absorbed]);
    assert!(members(&app, &s.both).await.is_empty());
    assert_eq!(members(&app, &s.guests).await, vec![s.absorbed]);
    assert_eq!(members(&app, &s.nested).await, vec![s.absorbed]);
    assert_eq!(
        super::sorted(members(&app, &s.gala).await),
        super::sorted(vec![s.absorbed, s.survivor])
    );
    let unmerged = |who: Uuid, change: &str| (who, change.to_owned(), "unmerge".to_owned());
    let buyers = history(&app, &s.token, &s.buyers).await;
    assert!(
        buyers[..2].contains(&unmerged(s.absorbed, "entered")),
        "{buyers:?}"
    );
    assert!(
        buyers[..2].contains(&unmerged(s.survivor, "exited")),
        "{buyers:?}"
    );
    assert_eq!(
        history(&app, &s.token, &s.both).await[0],
        unmerged(s.survivor, "exited")
    );
    let guests = history(&app, &s.token, &s.guests).await;
    assert!(
        guests[..2].contains(&unmerged(s.absorbed, "entered")),
        "{guests:?}"
    );
    assert!(
        guests[..2].contains(&unmerged(s.survivor, "exited")),
        "{guests:?}"
    );
    let events = announced(&app, &s.both).await;
    assert_eq!(
        events.last(),
        Some(&("unmerge".to_owned(), json!([]), json!([s.survivor])))
    );
    // A full refresh finds nothing to change: the incremental answer was the rule's.
    for segment in [&s.buyers, &s.both, &s.nested] {
        let report = super::refresh(&app, &s.token, "maison", segment).await;
        for item in report["items"].as_array().unwrap() {
            assert_eq!(
                (&item["entered"], &item["exited"]),
                (&json!(0), &json!(0)),
                "{report}"
            );
        }
    }
}

#[tokio::test]
async fn a_merge_made_by_the_resolve_api_moves_membership_too() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (status, body) = post(
        &app,
        &s.token,
        "/api/v1/brands/maison/crm/profiles",
        &json!({"identifiers": [{"kind": "email", "value": "ann@example.com"},
                                {"kind": "loyalty_id", "value": "l1042"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"]["kind"], "merged", "{body}");
    let survivor: Uuid = body["profile"]["id"].as_str().unwrap().parse().unwrap();
    let absorbed = if survivor == s.absorbed {
        s.survivor
    } else {
        s.absorbed
    };
    for segment in [&s.buyers, &s.both, &s.guests, &s.nested] {
        assert_eq!(members(&app, segment).await, vec![survivor], "{segment}");
    }
    let both = history(&app, &s.token, &s.both).await;
    assert_eq!(both, [(survivor, "entered".to_owned(), "merge".to_owned())]);
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_segment_members WHERE profile_id = $1")
            .bind(absorbed)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(left, 0);
}
