//! `GET …/clienteling/clients` (search, filters, pages), `GET …/clienteling/book` and
//! `GET …/clienteling/stores/{store}/book`.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{CLIENTS, client, code, id_of, ids, paris, person, send, tokyo};
use crate::helpers::{get_as, get_json_as, problem, spawn_app};

#[tokio::test]
async fn the_book_is_searched_with_misspellings_and_filtered() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let claire = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Claire",
            "Dupont",
            "claire.dupont@example.com",
        )
        .await,
    );
    let marc = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Marc",
            "Lefèvre",
            "marc@example.com",
        )
        .await,
    );
    let other = tokyo(&app).await;
    let aiko = id_of(
        &client(
            &app,
            &other.token,
            "tokyo-1",
            "Aiko",
            "Dupont",
            "aiko@example.com",
        )
        .await,
    );
    let response = send(
        &app,
        Method::PATCH,
        Some(&advisor.token),
        &format!("{CLIENTS}/{marc}"),
        Some(json!({
            "attributes": { "tier": "gold", "tags": ["watches"], "phone": "+33611223344" }
        })),
    )
    .await;
    assert_eq!(response.status(), 200);

    let search = |q: &str| format!("{CLIENTS}?q={q}");
    // Misspelt, a prefix, an email part, a phone part, a tag; never another store's Dupont.
    for (q, expected) in [
        ("dupond", vec![claire.clone()]),
        ("Clare", vec![claire.clone()]),
        ("lefevre", vec![marc.clone()]),
        ("claire.dup", vec![claire.clone()]),
        ("%2B336112", vec![marc.clone()]),
        ("watches", vec![marc.clone()]),
        ("zzzzqqq", vec![]),
        ("%25", vec![]),
    ] {
        let page: Value = get_json_as(&app, &advisor.token, &search(q)).await;
        assert_eq!(ids(&page), expected, "q={q}");
    }
    let page: Value = get_json_as(&app, &other.token, &search("dupond")).await;
    assert_eq!(
        ids(&page),
        vec![aiko.clone()],
        "the Tokyo advisor sees the Tokyo Dupont only"
    );

    let page: Value = get_json_as(&app, &advisor.token, &format!("{CLIENTS}?tier=gold")).await;
    assert_eq!(ids(&page), vec![marc.clone()]);
    let page: Value = get_json_as(&app, &advisor.token, &format!("{CLIENTS}?tag=watches")).await;
    assert_eq!(ids(&page), vec![marc.clone()]);
    let page: Value = get_json_as(&app, &advisor.token, &format!("{CLIENTS}?store=tokyo-1")).await;
    assert_eq!(
        ids(&page),
        Vec::<String>::new(),
        "a filter never widens the scope"
    );
    let page: Value = get_json_as(&app, &advisor.token, CLIENTS).await;
    assert_eq!(ids(&page), [marc.clone(), claire.clone()], "newest first");
    assert_eq!(
        page["items"][0]["primary_advisor_id"],
        advisor.id.to_string()
    );
    assert_eq!(page["items"][0]["tier"], "gold");

    // Contacted yesterday: not among those not contacted in 30 days; never contacted: among them.
    sqlx::query("UPDATE clienteling_clients SET last_contacted_at = now() - interval '1 day' WHERE profile_id = $1::uuid")
        .bind(&claire)
        .execute(&app.db)
        .await
        .unwrap();
    let page: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}?not_contacted_days=30"),
    )
    .await;
    assert_eq!(ids(&page), vec![marc.clone()]);
    sqlx::query("UPDATE clienteling_clients SET last_contacted_at = now() - interval '40 days' WHERE profile_id = $1::uuid")
        .bind(&claire)
        .execute(&app.db)
        .await
        .unwrap();
    let page: Value = get_json_as(
        &app,
        &advisor.token,
        &format!("{CLIENTS}?not_contacted_days=30"),
    )
    .await;
    assert_eq!(ids(&page), [marc.clone(), claire.clone()]);
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(id_of(
            &client(
                &app,
                &advisor.token,
                "paris-1",
                "Page",
                &format!("Client{n}"),
                &format!("p{n}@example.com"),
            )
            .await,
        ));
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut path = format!("{CLIENTS}?limit=2");
    loop {
        let page: Value = get_json_as(&app, &advisor.token, &path).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{CLIENTS}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
}

#[tokio::test]
async fn bad_book_queries_are_problems() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    for (query, status) in [
        ("limit=0", 422),
        ("limit=abc", 400),
        ("cursor=!!", 400),
        ("cursor=AAAA", 400),
        ("not_contacted_days=0", 422),
        ("not_contacted_days=abc", 422),
        ("mine=maybe", 422),
        ("store=NOT%20A%20SLUG", 422),
        ("q=", 422),
        ("unknown=1", 400),
    ] {
        for base in [
            CLIENTS,
            "/api/v1/brands/maison/clienteling/book",
            "/api/v1/brands/maison/clienteling/stores/paris-1/book",
        ] {
            let response = get_as(&app, &advisor.token, &format!("{base}?{query}")).await;
            assert_eq!(response.status(), status, "{base}?{query}");
            problem(response).await;
        }
    }
}

#[tokio::test]
async fn my_book_and_a_stores_book_hold_what_they_should() {
    let app = spawn_app().await;
    let advisor = paris(&app).await;
    let colleague = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let mine = id_of(
        &client(
            &app,
            &advisor.token,
            "paris-1",
            "Mine",
            "Client",
            "mine@example.com",
        )
        .await,
    );
    let theirs = id_of(
        &client(
            &app,
            &colleague.token,
            "paris-1",
            "Their",
            "Client",
            "theirs@example.com",
        )
        .await,
    );
    let other = tokyo(&app).await;
    let far = id_of(
        &client(
            &app,
            &other.token,
            "tokyo-1",
            "Far",
            "Client",
            "far@example.com",
        )
        .await,
    );

    let book: Value = get_json_as(
        &app,
        &advisor.token,
        "/api/v1/brands/maison/clienteling/book",
    )
    .await;
    assert_eq!(ids(&book), vec![mine.clone()]);
    let store: Value = get_json_as(
        &app,
        &advisor.token,
        "/api/v1/brands/maison/clienteling/stores/paris-1/book",
    )
    .await;
    assert_eq!(ids(&store), [theirs.clone(), mine.clone()]);
    let filtered: Value = get_json_as(&app, &advisor.token, &format!("{CLIENTS}?mine=true")).await;
    assert_eq!(ids(&filtered), vec![mine.clone()]);

    for path in [
        "/api/v1/brands/maison/clienteling/stores/tokyo-1/book",
        "/api/v1/brands/maison/clienteling/stores/nowhere/book",
        "/api/v1/brands/maison/clienteling/stores/NOT_A_SLUG/book",
        "/api/v1/brands/maison/clienteling/stores/milan-1/book",
    ] {
        let response = get_as(&app, &advisor.token, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(code(&problem(response).await), "not-found");
    }
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let tokyo_book: Value = get_json_as(
        &app,
        &manager.token,
        "/api/v1/brands/maison/clienteling/stores/tokyo-1/book",
    )
    .await;
    assert_eq!(ids(&tokyo_book), vec![far.clone()]);
    let response = get_as(
        &app,
        &advisor.token,
        "/api/v1/brands/maison/clienteling/stores/paris-1/book?store=tokyo-1",
    )
    .await;
    assert_eq!(response.status(), 422);
    let atelier = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    for path in [
        "/api/v1/brands/maison/clienteling/book",
        "/api/v1/brands/maison/clienteling/clients",
    ] {
        assert_eq!(get_as(&app, &atelier.token, path).await.status(), 404);
    }
    let own: Value = get_json_as(
        &app,
        &atelier.token,
        "/api/v1/brands/atelier/clienteling/clients",
    )
    .await;
    assert_eq!(
        ids(&own),
        Vec::<String>::new(),
        "another brand's clients never show"
    );
}
