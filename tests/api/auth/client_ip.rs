//! The client address behind proxies: per-IP limits and the audit log use the real client, never an address
//! the client chose.

use concierge::config::Settings;
use serde_json::json;

use super::{PASSWORD, register};
use crate::helpers::{TestApp, TestOptions, spawn_app_with};

/// The test client connects from loopback; trusting loopback makes it "the portal's server".
async fn app(trust_loopback: bool, per_ip: u32) -> TestApp {
    spawn_app_with(TestOptions {
        configure: Box::new(move |s: &mut Settings| {
            s.auth.login_failures_per_ip = per_ip;
            s.auth.login_failures_per_account = 100;
            s.auth.lockout_base_secs = 60;
            s.server.trusted_proxies = if trust_loopback {
                vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]
            } else {
                vec!["10.0.0.0/8".parse().unwrap()]
            };
        }),
        ..Default::default()
    })
    .await
}

async fn login_via(app: &TestApp, forwarded: &str, email: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Four wrong logins for four different accounts, each claiming another origin on the left.
async fn spoofing_attacker(app: &TestApp, real: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..4 {
        let spoofed = format!("198.51.100.{i}");
        let forwarded = if real.is_empty() {
            spoofed
        } else {
            format!("{spoofed}, {real}")
        };
        statuses.push(
            login_via(
                app,
                &forwarded,
                &format!("victim{i}@example.com"),
                "wrong-pass-123",
            )
            .await,
        );
    }
    statuses
}

#[tokio::test]
async fn a_spoofed_forwarded_for_per_request_does_not_escape_the_per_ip_limit() {
    // Directly connected: the header is ignored and the peer is limited.
    let direct = app(false, 3).await;
    assert_eq!(spoofing_attacker(&direct, "").await, [401, 401, 401, 429]);

    // Behind the portal: the portal appended the attacker's real address on the right.
    let proxied = app(true, 3).await;
    assert_eq!(
        spoofing_attacker(&proxied, "203.0.113.7").await,
        [401, 401, 401, 429]
    );
}

#[tokio::test]
async fn behind_the_trusted_portal_the_per_ip_limit_applies_to_each_real_client() {
    let app = app(true, 3).await;
    register(&app, "bystander@example.com").await;
    spoofing_attacker(&app, "203.0.113.7").await;

    let bystander = login_via(&app, "203.0.113.8", "bystander@example.com", PASSWORD).await;

    assert_eq!(
        bystander, 200,
        "one attacker behind the portal does not lock everybody out"
    );
    let recorded: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT event, ip FROM auth_audit_log WHERE event LIKE 'login%' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    for (event, ip) in &recorded[..3] {
        assert_eq!(
            (event.as_str(), ip.as_deref()),
            ("login_failed", Some("203.0.113.7"))
        );
    }
    assert_eq!(
        (recorded[3].0.as_str(), recorded[3].1.as_deref()),
        ("login_succeeded", Some("203.0.113.8"))
    );
    let session_ip: Option<String> = sqlx::query_scalar("SELECT ip FROM sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(session_ip.as_deref(), Some("203.0.113.8"));
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let app = app(true, 3).await;
    for (i, address) in [
        "2001:db8:1:2::a",
        "2001:db8:1:2::b",
        "[2001:db8:1:2:ffff::c]:4430",
    ]
    .iter()
    .enumerate()
    {
        let status = login_via(
            &app,
            address,
            &format!("v6-{i}@example.com"),
            "wrong-pass-123",
        )
        .await;
        assert_eq!(status, 401);
    }

    let same_64 = login_via(
        &app,
        "2001:db8:1:2:9::1",
        "v6-x@example.com",
        "wrong-pass-123",
    )
    .await;
    let next_64 = login_via(
        &app,
        "2001:db8:1:3::1",
        "v6-y@example.com",
        "wrong-pass-123",
    )
    .await;

    assert_eq!(same_64, 429);
    assert_eq!(next_64, 401);
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let app = app(false, 50).await;
    register(&app, "direct@example.com").await;

    assert_eq!(
        login_via(&app, "203.0.113.9", "direct@example.com", PASSWORD).await,
        200
    );

    let ip: Option<String> =
        sqlx::query_scalar("SELECT ip FROM auth_audit_log WHERE event = 'login_succeeded'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

/// A client puts a byte that is not text (obs-text, allowed in a header) in its own `X-Forwarded-For`; the
/// portal appends the client's real address to that same line. The line is still the portal's word about
/// the hop it saw: the attacker must not become "the portal" (a fresh per-IP budget, and the portal's
/// address in the audit log instead of its own).
#[tokio::test]
async fn a_forwarded_for_that_is_not_text_does_not_turn_the_client_into_the_proxy() {
    let app = app(true, 3).await;
    assert_eq!(
        spoofing_attacker(&app, "203.0.113.7").await,
        [401, 401, 401, 429]
    );

    let forwarded =
        reqwest::header::HeaderValue::from_bytes(b"198.51.100.77\xff, 203.0.113.7").unwrap();
    let status = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "email": "victim9@example.com", "password": "wrong-pass-123" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 429, "still the locked-out client 203.0.113.7");

    let ips: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT ip FROM auth_audit_log WHERE event = 'login_failed'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(ips, vec![Some("203.0.113.7".to_owned())]);
}
