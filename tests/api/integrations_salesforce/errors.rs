//! Error arrays, retries on transient failures only, timeouts and broken payloads: one table of the answers
//! (data and token endpoints) and their classification, and the cases that need a test of their own.

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
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

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

/// Where the answer of a case comes from, and the call that meets it.
#[derive(Debug, Clone, Copy)]
enum At {
    /// `client.query(SOQL)` against the query resource.
    Query,
    /// `client.get("Order", id)` against the record.
    Record,
    /// `client.get("Order", id)`, with the token endpoint answering.
    Token,
}

#[derive(Debug, Clone, Copy)]
enum Body {
    /// A Salesforce error array of one entry: `errorCode`, `message`.
    Errors(&'static str, &'static str),
    /// Any JSON text, well-formed or not.
    Json(&'static str),
    Html(&'static str),
    Empty,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `Rejected` with the answer's status and this first `errorCode`; the entry's message, scrubbed, still
    /// holds the second text.
    Rejected(&'static str, &'static str),
    RateLimited,
    Unavailable,
    Malformed,
    /// `Auth` with this message.
    Auth(&'static str),
    /// The answer comes once, the retry succeeds (a query or record case).
    Recovers,
}

struct Case {
    name: &'static str,
    at: At,
    status: u16,
    body: Body,
    expect: Expect,
    /// Requests the endpoint received: 1 = not retried; 3 = the first attempt and `max_retries` = 2.
    attempts: usize,
    /// What `is_transient()` says of the error (nothing to check when the call recovers).
    transient: bool,
}

const SOQL: &str = "SELECT Id FROM Account";

/// Every Salesforce answer the client must classify: status and body → the error, its retries, and
/// whether callers may try again later.
const CASES: &[Case] = &[
    Case {
        name: "400 MALFORMED_QUERY",
        at: At::Query,
        status: 400,
        // The scrubber masks whatever follows `token:`, and keeps the rest.
        body: Body::Errors("MALFORMED_QUERY", "unexpected token: Idd"),
        expect: Expect::Rejected("MALFORMED_QUERY", "Idd"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "400 with a lone error object",
        at: At::Query,
        status: 400,
        body: Body::Json(r#"{"errorCode": "INVALID_FIELD", "message": "No such column 'Idd'"}"#),
        expect: Expect::Rejected("INVALID_FIELD", "No such column"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "400 that is not an error array",
        at: At::Query,
        status: 400,
        body: Body::Html("<html>Bad Request</html>"),
        expect: Expect::Rejected("HTTP_400", "Bad Request"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "403 INSUFFICIENT_ACCESS_OR_READONLY",
        at: At::Query,
        status: 403,
        body: Body::Errors(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
        ),
        expect: Expect::Rejected("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "403 REQUEST_LIMIT_EXCEEDED",
        at: At::Query,
        status: 403,
        body: Body::Errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        expect: Expect::RateLimited,
        attempts: 3,
        transient: true,
    },
    Case {
        name: "404 NOT_FOUND",
        at: At::Record,
        status: 404,
        body: Body::Errors("NOT_FOUND", "The requested resource does not exist"),
        expect: Expect::Rejected("NOT_FOUND", "does not exist"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "429 without an error array",
        at: At::Query,
        status: 429,
        body: Body::Empty,
        expect: Expect::RateLimited,
        attempts: 3,
        transient: true,
    },
    Case {
        name: "503 SERVER_UNAVAILABLE once",
        at: At::Query,
        status: 503,
        body: Body::Errors("SERVER_UNAVAILABLE", "down for maintenance"),
        expect: Expect::Recovers,
        attempts: 2,
        transient: true,
    },
    Case {
        name: "503 SERVER_UNAVAILABLE throughout",
        at: At::Query,
        status: 503,
        body: Body::Errors("SERVER_UNAVAILABLE", "down for maintenance"),
        expect: Expect::Unavailable,
        attempts: 3,
        transient: true,
    },
    Case {
        name: "200 with broken JSON",
        at: At::Query,
        status: 200,
        body: Body::Json(r#"{"totalSize": 1, "records": ["#),
        expect: Expect::Malformed,
        attempts: 1,
        transient: false,
    },
    Case {
        name: "200 of the wrong shape",
        at: At::Query,
        status: 200,
        body: Body::Json(r#"{"done": true, "records": "none"}"#),
        expect: Expect::Malformed,
        attempts: 1,
        transient: false,
    },
    Case {
        name: "token endpoint 400 invalid_grant",
        at: At::Token,
        status: 400,
        body: Body::Json(
            r#"{"error": "invalid_grant", "error_description": "audience is invalid"}"#,
        ),
        expect: Expect::Auth("invalid_grant: audience is invalid"),
        attempts: 1,
        transient: false,
    },
    Case {
        name: "token endpoint 503",
        at: At::Token,
        status: 503,
        body: Body::Empty,
        expect: Expect::Unavailable,
        attempts: 3,
        transient: true,
    },
];

fn answer(case: &Case) -> ResponseTemplate {
    let response = ResponseTemplate::new(case.status);
    match case.body {
        Body::Errors(code, message) => response.set_body_json(error_array(code, message, &[])),
        Body::Json(text) => response.set_body_raw(text, "application/json"),
        Body::Html(text) => response.set_body_raw(text, "text/html"),
        Body::Empty => response,
    }
}

/// The path a case answers at, and a mock for the request its call makes there.
fn endpoint(at: At) -> (String, MockBuilder) {
    match at {
        At::Query => (
            format!("{DATA}/query"),
            Mock::given(method("GET"))
                .and(path(format!("{DATA}/query")))
                .and(query_param("q", SOQL)),
        ),
        At::Record => (
            format!("{DATA}/sobjects/Order/{}", order_id()),
            Mock::given(method("GET")).and(path(format!("{DATA}/sobjects/Order/{}", order_id()))),
        ),
        At::Token => (
            TOKEN_PATH.to_owned(),
            Mock::given(method("POST")).and(path(TOKEN_PATH)),
        ),
    }
}

/// Mounts the case's answer (once, then a success, for [`Expect::Recovers`]) and returns the path it is at.
async fn mount_case(server: &MockServer, case: &Case) -> String {
    if !matches!(case.at, At::Token) {
        mount_token(server, "token-1").await;
    }
    let (answered_at, mock) = endpoint(case.at);
    if !matches!(case.expect, Expect::Recovers) {
        mock.respond_with(answer(case)).mount(server).await;
        return answered_at;
    }
    mock.respond_with(answer(case))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    let success = match case.at {
        At::Query => {
            json!({"totalSize": 1, "done": true, "records": [{"Id": "001RO000001abcdYAA"}]})
        }
        At::Record => json!({"Id": order_id()}),
        At::Token => token_body("token-1", &server.uri()),
    };
    endpoint(case.at)
        .1
        .respond_with(ResponseTemplate::new(200).set_body_json(success))
        .mount(server)
        .await;
    answered_at
}

async fn call(client: &SalesforceClient, at: At) -> Result<usize, ProviderError> {
    match at {
        At::Query => Ok(client.query::<Value>(SOQL).await?.len()),
        At::Record | At::Token => client
            .get::<Value>("Order", order_id(), None)
            .await
            .map(|_| 1),
    }
}

#[tokio::test]
async fn every_salesforce_error_answer_is_classified_retried_and_marked_transient_or_not() {
    for case in CASES {
        let name = case.name;
        let server = MockServer::start().await;
        let answered_at = mount_case(&server, case).await;
        let client = client_for(&server);

        let result = call(&client, case.at).await;

        assert_eq!(
            super::hits(&server, &answered_at).await,
            case.attempts,
            "{name}: attempts"
        );
        let error = match (case.expect, result) {
            (Expect::Recovers, Ok(records)) => {
                assert_eq!(records, 1, "{name}: the retry's answer is read");
                continue;
            }
            (Expect::Recovers, Err(error)) => panic!("{name}: expected success, got {error:?}"),
            (_, Ok(records)) => panic!(
                "{name}: expected {:?}, got {records} record(s)",
                case.expect
            ),
            (_, Err(error)) => error,
        };
        assert_eq!(
            error.is_transient(),
            case.transient,
            "{name}: transient? {error:?}"
        );
        match case.expect {
            Expect::Rejected(code, keeps) => {
                assert!(
                    matches!(&error, ProviderError::Rejected { status: Some(status), code: first, .. }
                        if *status == case.status && first == code),
                    "{name}: {error:?}"
                );
                let errors = salesforce_errors(&error);
                assert_eq!(errors.len(), 1, "{name}: {errors:?}");
                assert_eq!(errors[0].code, code, "{name}");
                assert!(errors[0].message.contains(keeps), "{name}: {:?}", errors[0]);
                assert!(has_error_code(&error, code), "{name}");
                assert_eq!(
                    is_not_found(&error),
                    case.status == 404,
                    "{name}: not found?"
                );
            }
            Expect::RateLimited => assert!(
                matches!(error, ProviderError::RateLimited { .. }),
                "{name}: {error:?}"
            ),
            Expect::Unavailable => assert!(
                matches!(error, ProviderError::Unavailable { .. }),
                "{name}: {error:?}"
            ),
            Expect::Malformed => assert!(
                matches!(error, ProviderError::Malformed { .. }),
                "{name}: {error:?}"
            ),
            Expect::Auth(message) => assert!(
                matches!(&error, ProviderError::Auth { message: got, .. } if got == message),
                "{name}: {error:?}"
            ),
            Expect::Recovers => unreachable!("handled above"),
        }
    }
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
