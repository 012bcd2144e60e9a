//! Review (issue 14): what a hostile network answer or a crafted text does to the checks and the job.

use serde_json::json;

use super::support::*;
use crate::helpers::{Sandboxed, spawn_sandboxed_app_with};

/// X counts a URL as 23 only when it is one by X's rules: a known domain, then ASCII path characters.
/// Text after `https://` that is no URL to X (no domain, CJK after the slash) counts by weight.
#[tokio::test]
async fn text_after_a_scheme_that_x_does_not_take_for_a_url_counts_by_weight() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    for text in [
        format!("https://{}", "a".repeat(300)),
        format!("https://{}", "あ".repeat(200)),
        format!("see https://example.com/{}", "あ".repeat(200)),
        format!("see https://example.com/{}", ")".repeat(300)),
    ] {
        let response = create(
            &app,
            &token,
            &uuid::Uuid::new_v4().to_string(),
            &json!({"text": text, "targets": [accounts.x]}),
        )
        .await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{text}: {body}");
        assert_eq!(body["errors"][0]["code"], "x_too_long", "{body}");
    }
}
