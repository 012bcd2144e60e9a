//! Review of issue 12: hostile but valid rules and odd data must never fail an event or the nightly run.

use serde_json::json;

use super::{clock, default_rules, event, nightly, put_rules, scores_of, send};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn a_short_half_life_over_a_long_window_fails_no_event_and_no_nightly_run() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Both within their documented ranges: 1 day and 1,830 days.
    let mut rules = default_rules();
    rules["engagement"]["half_life_days"] = json!(1.0);
    rules["engagement"]["window_days"] = json!(1830);
    let (status, body) = put_rules(&app, &token, "maison", &rules).await;
    assert_eq!(status, 200, "{body}");
    clock(&app, "2026-06-01T12:00:00Z");
    // 1,157 days old, inside the window: 0.5^1157 is below the smallest float8, which PostgreSQL's
    // power() refuses ("value out of range: underflow") instead of answering 0.
    let old = event(
        "pv-old",
        "page_view",
        "jane@example.com",
        "2023-04-01T12:00:00Z",
        json!({"url": "https://maison.example/bags"}),
    );
    let jane = send(&app, &token, vec![old]).await;
    let scores = scores_of(&app, &token, &jane).await;
    assert_eq!(scores["engagement"]["value"], 0, "{scores}");
    // Nor does it stop the nightly run (for every brand).
    clock(&app, "2026-06-02T12:00:00Z");
    let summary = nightly(&app).await;
    assert!(summary.profiles >= 1);
}
