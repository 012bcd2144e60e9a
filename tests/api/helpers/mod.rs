//! Test plumbing. `spawn_app()` starts the real application on a random port against a fresh database (cloned
//! from a migrated template) and the real Redis, with its own key prefix; `spawn_sandboxed_app()` does the same
//! with every provider pointed at an in-process sandbox, driven through [`TestSandbox`].

mod app;
mod database;
mod logs;
mod sandbox;
mod staff;
mod traces;
mod verify;

pub use app::*;
pub use concierge_sandbox::System;
pub use database::*;
pub use logs::LogCapture;
pub use sandbox::*;
pub use staff::*;
pub use traces::*;
pub use verify::*;

/// Polls `check` until it returns `Some`, or panics with `what` after `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Reads a JSON body, asserting the content type says problem+json.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "problem content type"
    );
    response.json().await.expect("problem body")
}
