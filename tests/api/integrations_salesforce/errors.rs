//! Error arrays, retries on transient failures only, timeouts and broken payloads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concierge::integrations::ProviderError;
use concierge::integrations::salesforce::{
    SalesforceClient, has_error_code, is_not_found, salesforce_errors,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{
    DATA, TOKEN_PATH, client_for, error_array, mount_token, order_id, settings_for, token_body,
};

async fn mount_query(server: &MockServer, response: ResponseTemplate) -> wiremock::MockGuard {
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(response)
        .mount_as_scoped(server)
        .await
}

#[tokio::test]
async fn a_malformed_query_is_rejected_with_typed_errors_and_not_retried() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .and(query_param("q", "SELECT Idd FROM Account"))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_array(
            "MALFORMED_QUERY",
            "unexpected token: Idd",
            &[],
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Idd FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::Rejected { status: Some(400), code, .. } if code == "MALFORMED_QUERY"),
        "{error:?}"
    );
    let errors = salesforce_errors(&error);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "MALFORMED_QUERY");
    // Messages pass through the log scrubber (which also masks whatever follows `token:`).
    assert!(errors[0].message.contains("Idd"), "{:?}", errors[0]);
    assert!(has_error_code(&error, "MALFORMED_QUERY"));
    assert!(!error.is_transient());
}

#[tokio::test]
async fn every_entry_of_an_error_array_is_kept_with_its_fields() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("PATCH"))
        .and(path(format!("{DATA}/sobjects/Contact/003RO0000035WQgYAM")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!([
            {"message": "Email: invalid email address: jane@example.com", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]},
            {"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client
        .update(
            "Contact",
            "003RO0000035WQgYAM",
            &json!({"Email": "jane@example.com"}),
        )
        .await
        .unwrap_err();

    let errors = salesforce_errors(&error);
    let codes: Vec<&str> = errors.iter().map(|entry| entry.code.as_str()).collect();
    assert_eq!(codes, ["INVALID_EMAIL_ADDRESS", "REQUIRED_FIELD_MISSING"]);
    assert_eq!(errors[0].fields, ["Email"]);
    assert_eq!(errors[1].fields, ["LastName"]);
    assert!(
        !error.to_string().contains("jane@example.com"),
        "personal data is scrubbed: {error}"
    );
}

#[tokio::test]
async fn a_missing_record_is_rejected_as_not_found_with_status_404() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/sobjects/Order/{}", order_id())))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_array(
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client
        .get::<Value>("Order", order_id(), None)
        .await
        .unwrap_err();

    assert!(is_not_found(&error), "{error:?}");
    assert!(has_error_code(&error, "NOT_FOUND"));
}

#[tokio::test]
async fn a_503_is_retried_and_then_succeeds() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(ResponseTemplate::new(503).set_body_json(error_array(
            "SERVER_UNAVAILABLE",
            "down for maintenance",
            &[],
        )))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"totalSize": 1, "done": true, "records": [{"Id": "001RO000001abcdYAA"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let records: Vec<Value> = client.query("SELECT Id FROM Account").await.unwrap();

    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn request_limit_exceeded_is_retried_then_reported_as_rate_limited() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(403).set_body_json(error_array(
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        )),
    )
    .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    // max_retries = 2: the first attempt and two retries.
    assert_eq!(super::hits(&server, &format!("{DATA}/query")).await, 3);
}

#[tokio::test]
async fn a_forbidden_answer_other_than_the_request_limit_is_a_rejection() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(403).set_body_json(error_array(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
            &[],
        )),
    )
    .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(has_error_code(&error, "INSUFFICIENT_ACCESS_OR_READONLY"));
    assert_eq!(super::hits(&server, &format!("{DATA}/query")).await, 1);
}

#[tokio::test]
async fn a_call_that_outlasts_the_timeout_is_unavailable() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalSize": 0, "done": true, "records": []}))
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let mut settings = settings_for(&server);
    settings.timeout_ms = 200;
    let client = SalesforceClient::new(&settings).unwrap();

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::Unavailable { reason, .. } if reason == "timed out"),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_malformed_and_not_retried() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(200)
            .set_body_raw("{\"totalSize\": 1, \"records\": [", "application/json"),
    )
    .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
    assert_eq!(super::hits(&server, &format!("{DATA}/query")).await, 1);
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_is_malformed() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"done": true, "records": "none"})),
    )
    .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_error_answer_that_is_not_an_array_is_still_a_typed_rejection() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let _query = mount_query(
        &server,
        ResponseTemplate::new(400).set_body_raw("<html>Bad Request</html>", "text/html"),
    )
    .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(has_error_code(&error, "HTTP_400"), "{error:?}");
}

/// A server that promises a body and hangs up half-way through it.
async fn spawn_truncating_server(connections: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let mut request = Vec::new();
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"totalSize\":1,\"records\":[",
                    )
                    .await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_body_cut_short_is_unavailable_and_retried_never_a_panic() {
    let connections = Arc::new(AtomicUsize::new(0));
    let instance = spawn_truncating_server(connections.clone()).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("token-1", &instance)))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client
        .query::<Value>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 3, "transient: retried");
}
