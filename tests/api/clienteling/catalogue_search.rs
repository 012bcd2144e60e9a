//! `GET …/clienteling/products` (search, filters, pages), `GET …/products/{id}`, and who may use the
//! catalogue routes.

use reqwest::Method;
use serde_json::Value;

use super::catalogue_sync::{ATELIER_PRODUCTS, MAISON_PRODUCTS, brand_id, sync};
use super::fixtures::{code, customer_token, paris, person, send, tokyo};
use crate::helpers::{TestApp, get_json_as, marketer_token, problem, spawn_sandboxed_app};

const PRODUCTS: &str = "/api/v1/brands/maison/clienteling/products";

async fn synced() -> TestApp {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    sync(&app, "atelier").await.unwrap();
    app
}

fn skus(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["sku"].as_str().unwrap().to_owned())
        .collect()
}

async fn search(app: &TestApp, token: &str, query: &str) -> Value {
    get_json_as(app, token, &format!("{PRODUCTS}?{query}")).await
}

#[tokio::test]
async fn words_prefixes_typos_and_skus_find_the_right_products_best_first() {
    let app = synced().await;
    let advisor = paris(&app).await.token;

    // A prefix of a word ("capucine" → Capucines), on sale only by default.
    let page = search(&app, &advisor, "q=capucine").await;
    let mut found = skus(&page);
    found.sort();
    assert_eq!(
        found,
        ["MA-CAP-BB-ROSE", "MA-CAP-MM-NOIR", "MA-CAP-PM-CAMEL"]
    );
    // A misspelling.
    let page = search(&app, &advisor, "q=capucnies").await;
    assert!(
        skus(&page)[..3].iter().all(|s| s.starts_with("MA-CAP-")),
        "{page}"
    );
    // Two words, both required as prefixes: leather bags.
    let page = search(&app, &advisor, "q=sac%20cuir").await;
    let mut best: Vec<String> = skus(&page)[..4].to_vec();
    best.sort();
    assert_eq!(
        best,
        [
            "MA-CAP-BB-ROSE",
            "MA-CAP-MM-NOIR",
            "MA-CAP-PM-CAMEL",
            "MA-TWIST-MM-BLANC"
        ],
        "the leather bags first: {page}"
    );
    // A SKU prefix, case-insensitive, ranks its products first.
    let page = search(&app, &advisor, "q=ma-port").await;
    let mut wallets = skus(&page)[..2].to_vec();
    wallets.sort();
    assert_eq!(wallets, ["MA-PORT-VIC-ROSE", "MA-PORT-ZIPPY-NOIR"]);
    let page = search(&app, &advisor, "q=MA-MONT-TAMB-BLEU").await;
    assert_eq!(skus(&page)[0], "MA-MONT-TAMB-BLEU");
    assert_eq!(page["items"][0]["price"]["amount"], "5900.00");
    assert_eq!(page["items"][0]["price"]["currency"], "EUR");
    assert_eq!(
        page["items"][0]["image_url"],
        "https://images.sandbox.example/maison/ma-mont-tamb-bleu.jpg"
    );
    // Nothing like it; LIKE wildcards match only themselves.
    assert!(skus(&search(&app, &advisor, "q=zzqqxxww").await).is_empty());
    assert!(
        skus(&search(&app, &advisor, "q=%25%25a").await)
            .iter()
            .all(|s| s.contains('A'))
    );
}

#[tokio::test]
async fn filters_narrow_the_search_and_inactive_products_show_on_request() {
    let app = synced().await;
    let advisor = paris(&app).await.token;

    let page = search(&app, &advisor, "category=bags&colour=NOIR&limit=100").await;
    assert_eq!(skus(&page), ["MA-CAP-MM-NOIR"]);
    let page = search(&app, &advisor, "q=sac&material=cuir%20taurillon&limit=100").await;
    let mut found = skus(&page);
    found.sort();
    assert_eq!(
        found,
        ["MA-CAP-BB-ROSE", "MA-CAP-MM-NOIR", "MA-CAP-PM-CAMEL"]
    );
    let page = search(&app, &advisor, "active=false").await;
    assert_eq!(skus(&page), ["MA-CAP-MINI-VERT", "MA-FOUL-SOIE-2019"]);
    assert_eq!(page["items"][0]["inactive_reason"], "inactive");
    let page = search(&app, &advisor, "active=any&limit=100").await;
    assert_eq!(skus(&page).len(), MAISON_PRODUCTS);
    let page = search(&app, &advisor, "q=capucines&active=any").await;
    assert_eq!(skus(&page).len(), 4);
}

async fn all_pages(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let path = match &cursor {
            Some(cursor) => format!("{PRODUCTS}?{query}&cursor={cursor}"),
            None => format!("{PRODUCTS}?{query}"),
        };
        let page = get_json_as(app, token, &path).await;
        assert!(page["items"].as_array().unwrap().len() <= 3);
        seen.extend(skus(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
    panic!("pages never ended");
}

#[tokio::test]
async fn cursor_pages_walk_every_match_once_in_order_with_and_without_q() {
    let app = synced().await;
    let advisor = paris(&app).await.token;

    let listed = all_pages(&app, &advisor, "limit=3&active=any").await;
    let mut sorted = listed.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(listed, sorted, "SKU order");
    assert_eq!(listed.len(), MAISON_PRODUCTS);

    let whole = skus(&search(&app, &advisor, "q=sac&limit=100").await);
    let paged = all_pages(&app, &advisor, "q=sac&limit=3").await;
    assert_eq!(
        paged, whole,
        "pages of a ranked search are the one ranked list, cut"
    );
    assert!(whole.len() > 3);
}

#[tokio::test]
async fn a_product_reads_by_id_in_its_brand_only() {
    let app = synced().await;
    let advisor = paris(&app).await.token;
    let milan = person(
        &app,
        "ca.milan@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await
    .token;
    let page = search(&app, &advisor, "q=MA-CAP-MM-NOIR").await;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();

    let product = get_json_as(&app, &advisor, &format!("{PRODUCTS}/{id}")).await;
    assert_eq!(product["sku"], "MA-CAP-MM-NOIR");
    assert_eq!(product["name"], "Sac Capucines MM");
    // Another store's advisor of the brand reads the same catalogue.
    let tokyo = tokyo(&app).await.token;
    assert_eq!(
        get_json_as(&app, &tokyo, &format!("{PRODUCTS}/{id}")).await["id"],
        id.as_str()
    );

    for (token, path) in [
        (&milan, format!("{PRODUCTS}/{id}")),
        (
            &milan,
            format!("/api/v1/brands/atelier/clienteling/products/{id}"),
        ),
        (&advisor, format!("{PRODUCTS}/{}", uuid::Uuid::now_v7())),
        (&advisor, format!("{PRODUCTS}/not-a-uuid")),
    ] {
        let response = send(&app, Method::GET, Some(token), &path, None).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(code(&problem(response).await), "not-found");
    }
    // Atelier's advisor searching their own brand never sees maison's products, and the reverse.
    let atelier = get_json_as(
        &app,
        &milan,
        "/api/v1/brands/atelier/clienteling/products?q=capucines&active=any&limit=100",
    )
    .await;
    assert!(skus(&atelier).is_empty());
    let atelier = get_json_as(
        &app,
        &milan,
        "/api/v1/brands/atelier/clienteling/products?active=any&limit=100",
    )
    .await;
    assert_eq!(skus(&atelier).len(), ATELIER_PRODUCTS);
    assert!(skus(&atelier).iter().all(|s| s.starts_with("AT-")));
    assert!(skus(&search(&app, &advisor, "q=borsa&active=any").await).is_empty());
}

#[tokio::test]
async fn only_the_brands_advisors_managers_and_admins_reach_the_catalogue() {
    let app = synced().await;
    let customer = customer_token(&app, "cleo@example.com").await;
    let marketer = marketer_token(&app, "m@maison.example", "maison").await;
    let milan = person(
        &app,
        "ca.m@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await
    .token;
    let response = send(&app, Method::GET, None, PRODUCTS, None).await;
    assert_eq!(response.status(), 401);
    for (token, status) in [(&customer, 403), (&marketer, 403), (&milan, 404)] {
        let response = send(&app, Method::GET, Some(token), PRODUCTS, None).await;
        assert_eq!(response.status(), status);
        problem(response).await;
    }
    let response = send(
        &app,
        Method::GET,
        Some(&paris(&app).await.token),
        "/api/v1/brands/nowhere/clienteling/products",
        None,
    )
    .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn bad_queries_are_problems_never_errors() {
    let app = synced().await;
    let advisor = paris(&app).await.token;
    let cursor_with_q = search(&app, &advisor, "q=sac&limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let cursor_without_q = search(&app, &advisor, "limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let long = "a".repeat(101);
    for (query, status, field) in [
        ("q=", 422, Some("q")),
        ("q=%20%20", 422, Some("q")),
        ("q=--%21%21", 422, Some("q")),
        (&format!("q={long}") as &str, 422, Some("q")),
        ("q=a%00b", 422, Some("q")),
        ("category=", 422, Some("category")),
        ("colour=%07", 422, Some("colour")),
        ("active=maybe", 422, Some("active")),
        ("limit=0", 422, Some("limit")),
        ("limit=abc", 400, None),
        ("cursor=%21%21", 400, None),
        ("cursor=bm90LWpzb24", 400, None),
        (&format!("cursor={cursor_with_q}") as &str, 400, None),
        (
            &format!("q=sac&cursor={cursor_without_q}") as &str,
            400,
            None,
        ),
        ("nope=1", 400, None),
    ] {
        let response = send(
            &app,
            Method::GET,
            Some(&advisor),
            &format!("{PRODUCTS}?{query}"),
            None,
        )
        .await;
        assert_eq!(response.status(), status, "{query}");
        let body = problem(response).await;
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        }
    }
}

#[tokio::test]
async fn the_search_query_uses_the_text_indexes_and_the_listing_the_sku_index() {
    let app = synced().await;
    let brand = brand_id(&app, "maison").await;
    // Enough rows, over two brands, that the planner's choice is a real one.
    // 40,000 rows through two GIN indexes outlast the pool's statement timeout on a loaded machine.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO clienteling_products (id, brand_id, salesforce_id, sku, name, category, colour, material,
                                           active, source_modified_at)
         SELECT gen_random_uuid(), b.id, 'SYN' || b.slug || n, 'SYN-' || b.slug || '-' || n,
                'Produit ' || md5(n::text), 'Family ' || (n % 20), 'Colour ' || (n % 13), 'Material ' || (n % 7),
                true, now()
         FROM brands b, generate_series(1, 20000) AS n WHERE b.slug IN ('maison', 'atelier')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // As a sync ends: the pending lists merged, then fresh statistics.
    sqlx::query(
        "SELECT gin_clean_pending_list('clienteling_products_fts'::regclass),
                gin_clean_pending_list('clienteling_products_trgm'::regclass)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE clienteling_products")
        .execute(&app.db)
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.4', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    // The text of `search::page` with `q`, kept equal to it.
    let plan: Vec<String> = sqlx::query_scalar(
        r#"EXPLAIN SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                          currency, active, inactive_reason, source_modified_at, updated_at, score
                   FROM (
                       SELECT p.*,
                              (CASE WHEN lower(p.sku) COLLATE "C" LIKE $2 THEN 2 ELSE 0 END
                               + ts_rank(p.search_vector, to_tsquery('simple', $3))
                               + word_similarity($4, p.search_text))::real AS score
                       FROM clienteling_products p
                       WHERE p.brand_id = $1
                         AND (lower(p.sku) COLLATE "C" LIKE $2
                              OR p.search_vector @@ to_tsquery('simple', $3)
                              OR $4 <% p.search_text)
                         AND ($5::bool IS NULL OR p.active = $5)
                         AND ($6::text IS NULL OR lower(p.category) = $6)
                         AND ($7::text IS NULL OR lower(p.colour) = $7)
                         AND ($8::text IS NULL OR lower(p.material) = $8)
                   ) ranked
                   WHERE $9::real IS NULL OR score < $9
                         OR (score = $9 AND lower(sku) COLLATE "C" > $10)
                   ORDER BY score DESC, lower(sku) COLLATE "C"
                   LIMIT $11"#,
    )
    .bind(brand)
    .bind(Some("capucines%"))
    .bind("capucines:*")
    .bind("capucines")
    .bind(Some(true))
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<f32>)
    .bind(None::<String>)
    .bind(21_i64)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("clienteling_products_fts"), "{plan}");
    assert!(plan.contains("clienteling_products_trgm"), "{plan}");
    assert!(plan.contains("clienteling_products_sku"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    // The text of `search::page` without `q`.
    let plan: Vec<String> = sqlx::query_scalar(
        r#"EXPLAIN SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                      currency, active, inactive_reason, source_modified_at, updated_at
               FROM clienteling_products
               WHERE brand_id = $1
                 AND ($2::bool IS NULL OR active = $2)
                 AND ($3::text IS NULL OR lower(category) = $3)
                 AND ($4::text IS NULL OR lower(colour) = $4)
                 AND ($5::text IS NULL OR lower(material) = $5)
                 AND ($6::text IS NULL OR lower(sku) COLLATE "C" > $6)
               ORDER BY lower(sku) COLLATE "C"
               LIMIT $7"#,
    )
    .bind(brand)
    .bind(Some(true))
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(Some("syn-maison-5"))
    .bind(21_i64)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Scan using clienteling_products_sku"),
        "{plan}"
    );
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");
    tx.rollback().await.unwrap();
    // The route answers the same search.
    let advisor = paris(&app).await.token;
    let page = search(&app, &advisor, "q=capucines").await;
    assert_eq!(skus(&page).len(), 3);
}

/// The brand's active products whose name starts with `prefix`, by SQL, in SKU order.
async fn names_starting(app: &TestApp, prefix: &str) -> Vec<String> {
    sqlx::query_scalar(
        r#"SELECT p.sku FROM clienteling_products p JOIN brands b ON b.id = p.brand_id
           WHERE b.slug = 'maison' AND p.active AND lower(p.name) LIKE $1 || '%'
           ORDER BY lower(p.sku) COLLATE "C""#,
    )
    .bind(prefix)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// One or two letters (the first an advisor types) are a prefix of the SKU or the name: a word prefix `p:*`
/// and trigrams matched, and ranked, nearly the whole catalogue.
#[tokio::test]
async fn a_short_q_is_a_prefix_of_the_sku_or_the_name_sku_matches_first() {
    let app = synced().await;
    let advisor = paris(&app).await.token;

    // No SKU of maison starts with p: the names that do ("Portefeuille …", "Pochette …", "Pull …"), and not
    // "Sac …", whose description has words in p.
    let expected = names_starting(&app, "p").await;
    assert!(expected.len() >= 4, "{expected:?}");
    for query in ["q=p", "q=P", "q=%20p%20"] {
        assert_eq!(
            skus(&search(&app, &advisor, query).await),
            expected,
            "{query}"
        );
    }
    assert_eq!(
        skus(&search(&app, &advisor, "q=po").await),
        names_starting(&app, "po").await
    );
    // Every SKU of maison starts with "MA-"; SKU matches come first, in SKU order, then names.
    let page = search(&app, &advisor, "q=ma-c&limit=100").await;
    let found = skus(&page);
    assert!(
        !found.is_empty() && found.iter().all(|sku| sku.starts_with("MA-C")),
        "{page}"
    );
    let page = search(&app, &advisor, "q=m&limit=100").await;
    assert_eq!(
        skus(&page).len(),
        MAISON_PRODUCTS - 2,
        "every active product: {page}"
    );
    // Pages of a short search walk the list once.
    let whole = skus(&search(&app, &advisor, "q=p&limit=100").await);
    assert_eq!(all_pages(&app, &advisor, "q=p&limit=3").await, whole);
    // Three letters are a search again, typos and words anywhere: "sac" finds the bags by word.
    let page = search(&app, &advisor, "q=cuir&limit=100").await;
    assert!(
        skus(&page).iter().any(|sku| sku.starts_with("MA-CAP-")),
        "{page}"
    );
}

#[tokio::test]
async fn a_short_q_reads_two_btree_ranges_never_the_text_indexes_nor_the_table() {
    let app = synced().await;
    let brand = brand_id(&app, "maison").await;
    // 40,000 rows through two GIN indexes outlast the pool's statement timeout on a loaded machine.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO clienteling_products (id, brand_id, salesforce_id, sku, name, category, colour, material,
                                           active, source_modified_at)
         SELECT gen_random_uuid(), b.id, 'SYN' || b.slug || n, 'SYN-' || b.slug || '-' || n,
                md5(n::text) || ' article', 'Family ' || (n % 20), 'Colour ' || (n % 13), 'Material ' || (n % 7),
                true, now()
         FROM brands b, generate_series(1, 20000) AS n WHERE b.slug IN ('maison', 'atelier')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE clienteling_products")
        .execute(&app.db)
        .await
        .unwrap();
    // The text of `search::page` with a short `q`, kept equal to it ("p": [p, p\u{10FFFF})).
    let plan: Vec<String> = sqlx::query_scalar(
        r#"EXPLAIN SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                          currency, active, inactive_reason, source_modified_at, updated_at, score
                   FROM (
                       SELECT p.*,
                              (CASE WHEN lower(p.sku) COLLATE "C" >= $2 AND lower(p.sku) COLLATE "C" < $3
                                    THEN 2 ELSE 1 END)::real AS score
                       FROM clienteling_products p
                       WHERE p.brand_id = $1
                         AND ((lower(p.sku) COLLATE "C" >= $2 AND lower(p.sku) COLLATE "C" < $3)
                              OR (lower(p.name) COLLATE "C" >= $4 AND lower(p.name) COLLATE "C" < $5))
                         AND ($6::bool IS NULL OR p.active = $6)
                         AND ($7::text IS NULL OR lower(p.category) = $7)
                         AND ($8::text IS NULL OR lower(p.colour) = $8)
                         AND ($9::text IS NULL OR lower(p.material) = $9)
                   ) ranked
                   WHERE $10::real IS NULL OR score < $10
                         OR (score = $10 AND lower(sku) COLLATE "C" > $11)
                   ORDER BY score DESC, lower(sku) COLLATE "C"
                   LIMIT $12"#,
    )
    .bind(brand)
    .bind(Some("p"))
    .bind(Some("p\u{10FFFF}"))
    .bind("p")
    .bind("p\u{10FFFF}")
    .bind(Some(true))
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<f32>)
    .bind(None::<String>)
    .bind(21_i64)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("clienteling_products_sku"), "{plan}");
    assert!(plan.contains("clienteling_products_name"), "{plan}");
    assert!(!plan.contains("clienteling_products_fts"), "{plan}");
    assert!(!plan.contains("clienteling_products_trgm"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    // The route answers the same: the few products named in p among 20,000 that are not.
    let advisor = paris(&app).await.token;
    let page = search(&app, &advisor, "q=p").await;
    assert_eq!(skus(&page), names_starting(&app, "p").await);
}
