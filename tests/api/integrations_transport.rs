//! The shared provider transport: retries only on transient failures, back-off, the circuit breaker, typed
//! errors and request-id propagation, against wiremock.

use std::time::Duration;

use concierge::config::ProviderSettings;
use concierge::errors::{ApiError, ErrorCode};
use concierge::http::request_context::{self, RequestContext};
use concierge::integrations::{ProviderClient, ProviderError, classify_by_status};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::test_settings;

fn settings() -> ProviderSettings {
    let mut settings = test_settings("unused").providers;
    settings.max_retries = 2;
    settings.retry_base_ms = 5;
    settings.retry_max_ms = 20;
    settings.timeout_ms = 300;
    settings.breaker_failure_threshold = 3;
    settings.breaker_cooldown_ms = 60_000;
    settings
}

async fn get(
    client: &ProviderClient,
    server: &MockServer,
) -> Result<concierge::integrations::RawResponse, ProviderError> {
    let url = format!("{}/thing", server.uri());
    client
        .execute(
            "get_thing",
            |http| http.get(&url),
            |response| classify_by_status("test", response),
        )
        .await
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn a_5xx_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings()).unwrap();

    let response = get(&client, &server).await.unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_4xx_is_never_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad field"))
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings()).unwrap();

    let error = get(&client, &server).await.unwrap_err();

    assert!(
        matches!(
            error,
            ProviderError::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn persistent_rate_limiting_is_retried_then_reported_with_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings()).unwrap();

    let error = get(&client, &server).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{error:?}"
    );
    assert_eq!(requests(&server).await, 3, "one call and two retries");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_unavailable() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let mut settings = settings();
    settings.max_retries = 0;
    let client = ProviderClient::new("test", &settings).unwrap();

    let error = get(&client, &server).await.unwrap_err();

    assert!(
        matches!(&error, ProviderError::Unavailable { reason, .. } if reason.contains("timed out")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let client = ProviderClient::new("test", &settings()).unwrap();

    let error = client
        .execute(
            "get_thing",
            |http| http.get("http://127.0.0.1:1/thing"),
            |r| classify_by_status("test", r),
        )
        .await
        .unwrap_err();

    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn a_malformed_body_is_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"a\": [1, 2"))
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings()).unwrap();

    let response = get(&client, &server).await.unwrap();
    let error = response.json::<serde_json::Value>("test").unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused_once_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2_000)))
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings())
        .unwrap()
        .with_max_response_bytes(1_000);

    let error = get(&client, &server).await.unwrap_err();

    assert!(
        matches!(&error, ProviderError::Malformed { detail, .. } if detail.contains("larger than 1000 bytes")),
        "{error:?}"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn an_endless_chunked_answer_is_cut_off_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // No Content-Length, chunks for ever: only the running count can stop it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let endless = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("400\r\n{}\r\n", "y".repeat(0x400));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let client = ProviderClient::new("test", &settings())
        .unwrap()
        .with_max_response_bytes(64 * 1024);
    let url = format!("http://{address}/thing");

    let error = client
        .without_retries()
        .execute(
            "get_thing",
            |http| http.get(&url),
            |response| classify_by_status("test", response),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::Malformed { detail, .. } if detail.contains("larger than")),
        "{error:?}"
    );
    endless.abort();
}

#[tokio::test]
async fn the_breaker_fails_fast_once_a_system_keeps_failing() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let mut settings = settings();
    settings.max_retries = 0;
    let client = ProviderClient::new("test", &settings).unwrap();

    for _ in 0..3 {
        assert!(get(&client, &server).await.unwrap_err().is_transient());
    }
    let seen = requests(&server).await;
    let error = get(&client, &server).await.unwrap_err();

    assert!(
        matches!(&error, ProviderError::Unavailable { reason, .. } if reason.contains("circuit open")),
        "{error:?}"
    );
    assert_eq!(
        requests(&server).await,
        seen,
        "an open breaker does not call the system"
    );
}

#[tokio::test]
async fn the_breaker_closes_again_after_its_cooldown_when_the_system_recovers() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let mut settings = settings();
    settings.max_retries = 0;
    settings.breaker_cooldown_ms = 100;
    let client = ProviderClient::new("test", &settings).unwrap();
    for _ in 0..3 {
        let _ = get(&client, &server).await;
    }

    tokio::time::sleep(Duration::from_millis(150)).await;

    assert_eq!(get(&client, &server).await.unwrap().status, 200);
    assert_eq!(get(&client, &server).await.unwrap().status, 200);
}

#[tokio::test]
async fn the_request_id_is_propagated_to_the_provider() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-request-id", "req-123"))
        .and(header("x-correlation-id", "req-123"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = ProviderClient::new("test", &settings()).unwrap();
    let context = RequestContext {
        request_id: "req-123".into(),
        path: "/api/v1/me".into(),
    };

    let response = request_context::scope(context, get(&client, &server))
        .await
        .unwrap();

    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn provider_failures_become_502_and_503_problems() {
    let unavailable = ApiError::from(ProviderError::Unavailable {
        system: "whmcs",
        reason: "timed out".into(),
    });
    assert_eq!(unavailable.code(), ErrorCode::ProviderUnavailable);

    let rejected = ApiError::from(ProviderError::rejected(
        "salesforce",
        Some(400),
        "INVALID_FIELD",
        "No such column",
    ));
    assert_eq!(rejected.code(), ErrorCode::ProviderError);
    assert!(rejected.problem().detail.unwrap().contains("salesforce"));
}
