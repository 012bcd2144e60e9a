use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concierge::cache::Cache;

use crate::helpers::{DEAD_REDIS_URL, test_settings};

fn cache(url: Option<&str>) -> Cache {
    let mut settings = test_settings("unused").redis;
    if let Some(url) = url {
        settings.url = url.to_owned().into();
    }
    Cache::new(&settings).unwrap()
}

#[tokio::test]
async fn values_round_trip_and_can_be_invalidated() {
    let cache = cache(None);

    cache
        .set(
            "catalog:products",
            &vec!["sim-s", "sim-m"],
            Duration::from_secs(60),
        )
        .await;
    let hit: Option<Vec<String>> = cache.get("catalog:products").await;
    assert_eq!(hit.unwrap(), ["sim-s", "sim-m"]);

    cache.invalidate("catalog:products").await;
    assert_eq!(cache.get::<Vec<String>>("catalog:products").await, None);
}

#[tokio::test]
async fn values_expire_after_their_ttl() {
    let cache = cache(None);

    cache.set("short-lived", &1, Duration::from_secs(1)).await;
    assert_eq!(cache.get::<i32>("short-lived").await, Some(1));

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(cache.get::<i32>("short-lived").await, None);
}

#[tokio::test]
async fn get_or_load_loads_once_then_serves_from_cache() {
    let cache = cache(None);
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::convert::Infallible>(42)
    };

    assert_eq!(
        cache
            .get_or_load("answer", Duration::from_secs(60), load)
            .await
            .unwrap(),
        42
    );
    assert_eq!(
        cache
            .get_or_load("answer", Duration::from_secs(60), load)
            .await
            .unwrap(),
        42
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_redis_degrades_to_a_bypass_never_an_error() {
    let metrics_handle = concierge::observability::metrics_handle().unwrap();
    let cache = cache(Some(DEAD_REDIS_URL));
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::convert::Infallible>("fresh".to_owned())
    };

    cache.set("key", &"value", Duration::from_secs(60)).await;
    assert_eq!(cache.get::<String>("key").await, None);
    cache.invalidate("key").await;
    assert_eq!(
        cache
            .get_or_load("key", Duration::from_secs(60), load)
            .await
            .unwrap(),
        "fresh"
    );
    assert_eq!(
        cache
            .get_or_load("key", Duration::from_secs(60), load)
            .await
            .unwrap(),
        "fresh"
    );
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "every call reaches the source while Redis is down"
    );
    assert!(cache.ping().await.is_err());

    let metrics = metrics_handle.render();
    assert!(
        metrics.contains("cache_errors_total{operation=\"get\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn keys_are_namespaced_by_the_configured_prefix() {
    let first = cache(None);
    let second = cache(None);

    first
        .set("shared-name", &"first", Duration::from_secs(60))
        .await;

    assert_eq!(second.get::<String>("shared-name").await, None);
}
