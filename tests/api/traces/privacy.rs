//! What a request span exports about the request: its route template, never the values in its path. A CRM
//! identifier is addressed by its value (`…/identifiers/email/jane.doe@example.com`), so the path itself is
//! personal data, as the provider calls' paths and queries are.

use crate::helpers::{OtlpReceiver, ServeProcess, spawn_sandboxed_app, summary};

const EMAIL: &str = "jane.doe@example.com";
const PHONE: &str = "+33612345678";

#[tokio::test]
async fn a_request_span_never_exports_the_personal_data_in_its_path() {
    let app = spawn_sandboxed_app().await;
    let receiver = OtlpReceiver::start().await;
    let mut server = ServeProcess::start(
        &app,
        &[("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", receiver.url.as_str())],
    )
    .await;
    let profile = uuid::Uuid::now_v7();
    for (kind, value) in [("email", EMAIL), ("phone", PHONE)] {
        // Whoever asks and whatever the answer, the request is traced.
        let response = reqwest::Client::new()
            .delete(server.url(&format!(
                "/api/v1/brands/maison/crm/profiles/{profile}/identifiers/{kind}/{value}"
            )))
            .send()
            .await
            .expect("delete identifier");
        assert_eq!(response.status(), 401);
    }
    server.terminate().await;

    let spans = receiver.spans();
    let requests: Vec<_> = spans
        .iter()
        .filter(|span| {
            span.name
                == "DELETE /api/v1/brands/{brand}/crm/profiles/{id}/identifiers/{kind}/{value}"
        })
        .collect();
    assert_eq!(requests.len(), 2, "{}", summary(&spans));
    let exported = format!("{spans:?}");
    for secret in ["jane.doe", "example.com", "612345678"] {
        assert!(!exported.contains(secret), "{secret} exported: {exported}");
    }
    receiver.stop().await;
}
