//! The replay-id store in PostgreSQL.

use concierge::integrations::salesforce::replay::{load_replay_id, store_replay_id};
use sqlx::PgPool;

use crate::helpers;

const CHANNEL: &str = "/event/OrderProvisionRequested__e";

async fn fresh_pool() -> PgPool {
    let database = helpers::fresh_database().await;
    PgPool::connect(&helpers::database_url(&database))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_channel_never_stored_has_no_replay_id() {
    let pool = fresh_pool().await;

    let stored = load_replay_id(&pool, CHANNEL).await.unwrap();

    assert_eq!(stored, None);
}

#[tokio::test]
async fn a_stored_replay_id_is_loaded_back_per_channel() {
    let pool = fresh_pool().await;
    let mut conn = pool.acquire().await.unwrap();

    store_replay_id(&mut conn, CHANNEL, 42).await.unwrap();
    store_replay_id(&mut conn, "/event/Other__e", 7)
        .await
        .unwrap();
    store_replay_id(&mut conn, CHANNEL, 43).await.unwrap();

    assert_eq!(load_replay_id(&pool, CHANNEL).await.unwrap(), Some(43));
    assert_eq!(
        load_replay_id(&pool, "/event/Other__e").await.unwrap(),
        Some(7)
    );
}

#[tokio::test]
async fn storing_an_older_replay_id_never_moves_the_channel_backwards() {
    let pool = fresh_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    store_replay_id(&mut conn, CHANNEL, 100).await.unwrap();

    store_replay_id(&mut conn, CHANNEL, 90).await.unwrap();

    assert_eq!(load_replay_id(&pool, CHANNEL).await.unwrap(), Some(100));
}

#[tokio::test]
async fn a_replay_id_stored_in_a_rolled_back_transaction_is_not_kept() {
    let pool = fresh_pool().await;
    let mut tx = pool.begin().await.unwrap();

    store_replay_id(&mut tx, CHANNEL, 5).await.unwrap();
    tx.rollback().await.unwrap();

    assert_eq!(load_replay_id(&pool, CHANNEL).await.unwrap(), None);
}
