//! The shared token bucket in Redis: the rate holds within 5% on the test clock, across two handles (two
//! replicas), and a 429 pauses it and halves the rate.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use concierge::crm::messages::throttle::Permit;
use concierge::crm::messages::{Throttle, ThrottleKey};
use uuid::Uuid;

use crate::helpers::spawn_app;

/// Takes tokens alternately from `replicas` for `secs` of clock time; how many were granted.
async fn drain(
    replicas: &[Throttle],
    clock: &concierge::crm::messages::Clock,
    key: &ThrottleKey,
    rate: f64,
    secs: i64,
) -> u32 {
    let until = clock.now() + chrono::Duration::seconds(secs);
    let mut granted = 0;
    let mut turn = 0;
    while clock.now() < until {
        match replicas[turn % replicas.len()].acquire(key, rate).await {
            Permit::Go => granted += 1,
            Permit::Wait(wait) => clock.advance(chrono::Duration::from_std(wait).unwrap()),
        }
        turn += 1;
    }
    granted
}

#[tokio::test]
async fn two_replicas_share_one_rate_within_five_percent() {
    let app = spawn_app().await;
    let clock = app.state.messages.clock().clone();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let replicas = [app.state.messages.throttle(), app.state.messages.throttle()];
    let key = ThrottleKey::campaign(Uuid::now_v7());
    let granted = f64::from(drain(&replicas, &clock, &key, 50.0, 10).await);
    assert!((granted - 500.0).abs() <= 25.0, "{granted} in 10 s at 50/s");
}

#[tokio::test]
async fn a_429_pauses_the_bucket_and_halves_its_rate_which_then_recovers() {
    let app = spawn_app().await;
    let clock = app.state.messages.clock().clone();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let throttle = app.state.messages.throttle();
    let key = ThrottleKey::campaign(Uuid::now_v7());
    drain(std::slice::from_ref(&throttle), &clock, &key, 40.0, 1).await;
    throttle
        .rate_limited(&key, 40.0, Some(Duration::from_secs(2)))
        .await;
    assert_eq!(throttle.current_rate(&key).await, Some(20.0));
    assert_eq!(
        throttle.acquire(&key, 40.0).await,
        Permit::Wait(Duration::from_secs(2))
    );
    clock.advance(chrono::Duration::seconds(2));
    // 20/s growing by 1/s (test settings) for 5 s: about 112 messages, far below 40/s.
    let granted = f64::from(drain(std::slice::from_ref(&throttle), &clock, &key, 40.0, 5).await);
    assert!((granted - 112.5).abs() <= 112.5 * 0.05, "{granted}");
    let rate = throttle.current_rate(&key).await.unwrap();
    assert!((rate - 25.0).abs() < 0.5, "{rate}");
}

/// A provider's `Retry-After` is its to choose: an enormous one (here just under `i64::MAX` milliseconds)
/// overflowed the pause (a panic in the delivery worker in a debug build, a pause wrapped into the past in
/// release, a garbled wait from Redis). It pauses for at most an hour, the bucket's own lifetime.
#[tokio::test]
async fn an_enormous_retry_after_pauses_for_at_most_an_hour_and_never_panics() {
    let app = spawn_app().await;
    let clock = app.state.messages.clock().clone();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let throttle = app.state.messages.throttle();
    for retry_after in [
        Duration::from_millis(u64::try_from(i64::MAX).unwrap() - 10),
        Duration::from_secs(u64::MAX),
    ] {
        let key = ThrottleKey::campaign(Uuid::now_v7());
        throttle.rate_limited(&key, 40.0, Some(retry_after)).await;
        match throttle.acquire(&key, 40.0).await {
            Permit::Wait(wait) => assert!(
                wait > Duration::from_secs(60) && wait <= Duration::from_secs(3600),
                "{wait:?}"
            ),
            Permit::Go => panic!("a 429 did not pause the bucket"),
        }
        clock.advance(chrono::Duration::seconds(3601));
        assert_eq!(throttle.acquire(&key, 40.0).await, Permit::Go);
    }
}

/// A campaign's rate is the caller's number: infinity reached the script as `inf`, which Lua cannot read
/// (the script failed, and each process fell back to an unlimited local bucket); NaN and 0 divided by zero.
/// Each is bounded before it reaches Redis, so the shared bucket keeps working.
#[tokio::test]
async fn a_nan_infinite_or_zero_rate_is_bounded_before_it_reaches_the_script() {
    let app = spawn_app().await;
    let clock = app.state.messages.clock().clone();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let throttle = app.state.messages.throttle();
    for (rate, stored) in [
        (f64::INFINITY, concierge::crm::messages::throttle::MAX_RATE),
        (f64::NAN, concierge::crm::messages::throttle::MIN_RATE),
        (0.0, concierge::crm::messages::throttle::MIN_RATE),
        (-3.0, concierge::crm::messages::throttle::MIN_RATE),
    ] {
        let key = ThrottleKey::campaign(Uuid::now_v7());
        assert_eq!(throttle.acquire(&key, rate).await, Permit::Go, "{rate}");
        assert_eq!(
            throttle.current_rate(&key).await,
            Some(stored),
            "{rate}: the shared bucket ran the script"
        );
        if stored < 1.0 {
            // The slowest rate: the next token is a thousand seconds away, not a division by zero.
            assert_eq!(
                throttle.acquire(&key, rate).await,
                Permit::Wait(Duration::from_secs(1000)),
                "{rate}"
            );
        }
        throttle.rate_limited(&key, rate, None).await;
        assert!(
            throttle
                .current_rate(&key)
                .await
                .is_some_and(f64::is_finite)
        );
    }
}
