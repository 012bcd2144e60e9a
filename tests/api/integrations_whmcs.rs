//! The whmcs client against the sandbox and wiremock.

mod accounts;
mod billing;
mod charges;
mod faults;
mod logs;
mod orders;
mod wire;

use concierge::config::Settings;
use concierge::integrations::ProviderError;
use concierge::integrations::whmcs::WhmcsClient;

use crate::helpers::{TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

const DEMO_EMAIL: &str = "demo@concierge.test";
const DEMO_PASSWORD: &str = "concierge-demo";

async fn sandbox_with_client() -> (TestSandbox, WhmcsClient) {
    let sandbox = spawn_sandbox().await;
    let client = client_for(&settings_for_sandbox(&sandbox));
    (sandbox, client)
}

fn client_for(settings: &Settings) -> WhmcsClient {
    WhmcsClient::new(&settings.providers).expect("whmcs client")
}

/// Test settings whose WHMCS base URL is `base_url` (a wiremock server).
fn settings_for(base_url: &str) -> Settings {
    let mut settings = test_settings("unused");
    settings.providers.whmcs.base_url = base_url.to_owned();
    settings
}

/// The `code` of a `Rejected` error, failing the test on any other outcome.
fn rejection_code<T: std::fmt::Debug>(result: Result<T, ProviderError>) -> String {
    match result {
        Err(ProviderError::Rejected { code, status, .. }) => {
            assert_eq!(status, Some(200), "WHMCS rejects with HTTP 200");
            code
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}
