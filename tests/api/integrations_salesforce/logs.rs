//! No personal data reaches the logs through a failed provider call: a lookup by e-mail carries the address
//! percent-encoded in the query string, which reqwest's errors name, and Salesforce echoes a bad query's
//! literals in its error message.

use concierge::errors::ApiError;
use concierge::integrations::salesforce::{SalesforceClient, soql};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{DATA, TOKEN_PATH, client_for, error_array, mount_token, token_body};
use crate::helpers::LogCapture;

const EMAIL: &str = "hanako.yamada+portal@example.com";

fn lookup() -> String {
    format!(
        "SELECT Id, AccountId FROM Contact WHERE Email = {} ORDER BY CreatedDate LIMIT 1",
        soql::quote(EMAIL)
    )
}

/// Fails on the e-mail in any spelling: as is, percent-encoded, form-encoded, or just its local part.
fn assert_no_email(text: &str) {
    for form in [
        EMAIL,
        "hanako.yamada%2Bportal%40example.com",
        "hanako.yamada+portal%40example.com",
        "hanako",
    ] {
        assert!(!text.contains(form), "`{form}` appears in: {text}");
    }
}

/// A data endpoint that takes the request and closes the connection without answering: reqwest's error
/// then names the full URL, query string included.
async fn hanging_up_instance() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let _ = socket.read(&mut buffer).await;
            });
        }
    });
    format!("http://{address}")
}

async fn client_with_instance(server: &MockServer, instance: &str) -> SalesforceClient {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("token", instance)))
        .mount(server)
        .await;
    client_for(server)
}

#[tokio::test]
async fn a_lookup_by_email_failing_in_transit_logs_neither_the_email_nor_its_encoded_form() {
    let server = MockServer::start().await;
    let client = client_with_instance(&server, &hanging_up_instance().await).await;
    let logs = LogCapture::default();
    let guard = logs.start();

    let error = client
        .query::<Value>(&lookup())
        .await
        .expect_err("the instance hangs up");
    // What a handler does with it: the problem response logs the failure.
    drop(ApiError::from(error.clone()));
    drop(guard);

    assert!(error.is_transient(), "{error}");
    let logged = logs.text();
    assert!(logged.contains("provider call failed"), "{logged}");
    assert!(logged.contains("retrying provider call"), "{logged}");
    assert_no_email(&format!("{error} {error:?} {logged}"));
}

#[tokio::test]
async fn a_salesforce_error_echoing_the_query_logs_none_of_its_literals() {
    let server = MockServer::start().await;
    mount_token(&server, "token").await;
    // Salesforce quotes the query back in a MALFORMED_QUERY or INVALID_FIELD message.
    let echo = format!(
        "\n{}\n                                            ^\nERROR at Row:1:Column:45\nunexpected token: 'hanako'",
        lookup()
    );
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_array(
            "MALFORMED_QUERY",
            &echo,
            &[],
        )))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let logs = LogCapture::default();
    let guard = logs.start();

    let error = client
        .query::<Value>(&lookup())
        .await
        .expect_err("a malformed query");
    drop(ApiError::from(error.clone()));
    drop(guard);

    let logged = logs.text();
    assert!(logged.contains("provider call failed"), "{logged}");
    let text = format!("{error} {error:?} {logged}");
    assert!(text.contains("MALFORMED_QUERY"), "the code is kept: {text}");
    assert!(
        text.contains("WHERE Email = '***'"),
        "the query's shape is kept: {text}"
    );
    assert_no_email(&text);
}
