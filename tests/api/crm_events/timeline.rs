//! The timeline: newest first, a keyset cursor that stays put while events arrive, the type filter, merged
//! ids, and the plan of a page.

use serde_json::{Value, json};

use super::{ingest, page_view, profile_of, timeline};
use crate::helpers::{marketer_token, spawn_app};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_go_newest_first_and_a_cursor_is_stable_while_new_events_arrive() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Two events share a time: the id breaks the tie, so no page repeats or skips one.
    let batch: Vec<Value> = (1..=7)
        .map(|day| {
            let at = if day == 4 { 3 } else { day };
            page_view(
                &format!("d-{day}"),
                "jane@example.com",
                &format!("2026-10-0{at}T10:00:00Z"),
            )
        })
        .collect();
    let answer = ingest(&app, &token, "maison", &json!(batch)).await;
    let jane = profile_of(&answer, 0);

    let (status, first) = timeline(&app, &token, "maison", &jane, "?limit=3").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["profile_id"], jane.as_str());
    assert_eq!(ids(&first), ["d-7", "d-6", "d-5"]);
    assert_eq!(first["items"][0]["type"], "page_view");
    assert_eq!(first["items"][0]["source"], "api");
    assert_eq!(
        first["items"][0]["properties"]["url"],
        "https://maison.example/bags"
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();

    // Newer events arrive between the pages.
    ingest(
        &app,
        &token,
        "maison",
        &json!([
            page_view("new-1", "jane@example.com", "2026-10-09T10:00:00Z"),
            page_view("new-2", "jane@example.com", "2026-10-08T10:00:00Z"),
        ]),
    )
    .await;
    let (_, second) = timeline(
        &app,
        &token,
        "maison",
        &jane,
        &format!("?limit=3&cursor={cursor}"),
    )
    .await;
    let second_ids = ids(&second);
    assert_eq!(second_ids.len(), 3);
    assert!(
        second_ids
            .iter()
            .all(|id| ["d-4", "d-3", "d-2"].contains(&id.as_str())),
        "{second_ids:?}"
    );
    let (_, third) = timeline(
        &app,
        &token,
        "maison",
        &jane,
        &format!(
            "?limit=3&cursor={}",
            second["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(ids(&third), ["d-1"]);
    assert!(third["next_cursor"].is_null());

    let (_, fresh) = timeline(&app, &token, "maison", &jane, "").await;
    assert_eq!(
        fresh["items"].as_array().unwrap().len(),
        9,
        "default page of 50"
    );
    assert_eq!(ids(&fresh)[..2], ["new-1", "new-2"]);
    assert!(fresh["next_cursor"].is_null());
}

#[tokio::test]
async fn the_type_filter_takes_one_or_several_types_and_bad_queries_are_4xx() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let of = |id: &str, kind: &str, at: &str| {
        json!({"id": id, "type": kind, "occurred_at": at,
               "identifiers": [{"kind": "email", "value": "jane@example.com"}], "properties": {}})
    };
    let answer = ingest(
        &app,
        &token,
        "maison",
        &json!([
            of("a", "store_visit", "2026-10-01T10:00:00Z"),
            of("b", "wishlist_add", "2026-10-02T10:00:00Z"),
            of("c", "store_visit", "2026-10-03T10:00:00Z"),
            of("d", "call_back", "2026-10-04T10:00:00Z"),
        ]),
    )
    .await;
    let jane = profile_of(&answer, 0);
    let (_, visits) = timeline(&app, &token, "maison", &jane, "?type=store_visit").await;
    assert_eq!(ids(&visits), ["c", "a"]);
    let (_, two) = timeline(
        &app,
        &token,
        "maison",
        &jane,
        "?type=store_visit,call_back&limit=2",
    )
    .await;
    assert_eq!(ids(&two), ["d", "c"]);
    let cursor = two["next_cursor"].as_str().unwrap();
    let (_, rest) = timeline(
        &app,
        &token,
        "maison",
        &jane,
        &format!("?type=store_visit,call_back&limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&rest), ["a"]);

    for (query, status) in [
        ("?type=Bad-Type", 422),
        ("?limit=0", 422),
        ("?limit=101", 422),
        ("?limit=abc", 400),
        ("?cursor=garbage", 400),
        ("?colour=red", 400),
    ] {
        let (got, body) = timeline(&app, &token, "maison", &jane, query).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["code"].is_string(), "{query}: a problem");
    }
    for profile in ["not-a-uuid", &uuid::Uuid::now_v7().to_string()] {
        let (status, _) = timeline(&app, &token, "maison", profile, "").await;
        assert_eq!(status, 404, "{profile}");
    }
}

#[tokio::test]
async fn a_merged_away_id_shows_the_survivors_timeline() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let answer = ingest(
        &app,
        &token,
        "maison",
        &json!([
            page_view("s-1", "survivor@example.com", "2026-10-01T10:00:00Z"),
            page_view("s-2", "absorbed@example.com", "2026-10-02T10:00:00Z"),
        ]),
    )
    .await;
    let (survivor, absorbed) = (profile_of(&answer, 0), profile_of(&answer, 1));
    // What a merge leaves behind (the merge itself is the identity part's): the absorbed profile points at
    // the survivor and its activities were re-pointed.
    sqlx::query("UPDATE crm_activities SET profile_id = $1::uuid WHERE profile_id = $2::uuid")
        .bind(&survivor)
        .bind(&absorbed)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_profiles SET merged_into = $1::uuid WHERE id = $2::uuid")
        .bind(&survivor)
        .bind(&absorbed)
        .execute(&app.db)
        .await
        .unwrap();
    let (status, page) = timeline(&app, &token, "maison", &absorbed, "").await;
    assert_eq!(status, 200);
    assert_eq!(page["profile_id"], survivor.as_str());
    assert_eq!(ids(&page), ["s-2", "s-1"]);
}

#[tokio::test]
async fn a_page_is_one_range_scan_of_the_timeline_index() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let answer = ingest(
        &app,
        &token,
        "maison",
        &json!([page_view("x-0", "jane@example.com", "2026-10-01T10:00:00Z")]),
    )
    .await;
    let jane: uuid::Uuid = profile_of(&answer, 0).parse().unwrap();
    // Enough rows, over many profiles, that the planner's choice is a real one.
    sqlx::query(
        "INSERT INTO crm_activities (id, brand_id, profile_id, type, occurred_at, source)
         SELECT gen_random_uuid(), p.brand_id, p.id, 'page_view', now() - n * interval '1 minute', 'test'
         FROM crm_profiles p, generate_series(1, 20000) AS n WHERE p.id = $1",
    )
    .bind(jane)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE crm_activities")
        .execute(&app.db)
        .await
        .unwrap();
    let brand: uuid::Uuid = sqlx::query_scalar("SELECT brand_id FROM crm_profiles WHERE id = $1")
        .bind(jane)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id, type AS kind, occurred_at, properties, event_id, source, received_at
         FROM crm_activities
         WHERE brand_id = $1 AND profile_id = $2 AND (occurred_at, id) < ($3, $4)
           AND (cardinality($5::text[]) = 0 OR type = ANY($5))
         ORDER BY occurred_at DESC, id DESC
         LIMIT $6",
    )
    .bind(brand)
    .bind(jane)
    .bind(chrono::Utc::now() - chrono::Duration::hours(2))
    .bind(uuid::Uuid::max())
    .bind(Vec::<String>::new())
    .bind(51_i64)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Scan using crm_activities_timeline_idx"),
        "{plan}"
    );
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");
    assert!(plan.contains("Index Cond: ((profile_id = "), "{plan}");
    assert!(
        plan.contains("ROW(occurred_at, id) < ROW("),
        "the cursor is an index bound: {plan}"
    );
    // The query the route runs is this one (the text above is kept equal to `timeline::page`'s).
    let (status, page) = timeline(&app, &token, "maison", &jane.to_string(), "?limit=50").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
}
