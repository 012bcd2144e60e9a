//! A WHMCS error that echoes what was sent (a lookup by e-mail) reaches neither the error nor the logs.

use concierge::errors::ApiError;
use concierge::integrations::whmcs::ClientRef;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client_for, settings_for};
use crate::helpers::LogCapture;

const EMAIL: &str = "hanako.yamada+portal@example.com";

#[tokio::test]
async fn a_failed_lookup_by_email_logs_neither_the_email_nor_its_encoded_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result": "error", "message": format!("Client Not Found: {EMAIL}")
        })))
        .mount(&server)
        .await;
    let client = client_for(&settings_for(&server.uri()));
    let logs = LogCapture::default();
    let guard = logs.start();

    let error = client
        .get_clients_details(ClientRef::Email(EMAIL), false)
        .await
        .expect_err("no such client");
    drop(ApiError::from(error.clone()));
    drop(guard);

    let logged = logs.text();
    assert!(logged.contains("provider call failed"), "{logged}");
    assert!(
        matches!(&error, concierge::integrations::ProviderError::Rejected { code, .. } if code == "client_not_found"),
        "the code stays matchable: {error:?}"
    );
    let text = format!("{error} {error:?} {logged}");
    for form in [EMAIL, "hanako.yamada%2Bportal%40example.com", "hanako"] {
        assert!(!text.contains(form), "`{form}` appears in: {text}");
    }
}
