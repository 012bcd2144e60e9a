//! SOQL queries and paging through nextRecordsUrl.

use concierge::integrations::ProviderError;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{DATA, client_for, mount_token};

const SOQL: &str = "SELECT Id, Name FROM Contact WHERE LastName = 'O\\'Brien'";

/// A caller's own raw type: it ignores `attributes` simply by not declaring it.
#[derive(Debug, Deserialize, PartialEq)]
struct RawContact {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
}

fn contact(n: usize) -> Value {
    let id = format!("003RO00000{n:05}YAM");
    json!({
        "attributes": {"type": "Contact", "url": format!("{DATA}/sobjects/Contact/{id}")},
        "Id": id,
        "Name": format!("Contact {n}")
    })
}

async fn mount_three_pages(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .and(query_param("q", SOQL))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 5, "done": false,
            "nextRecordsUrl": format!("{DATA}/query/01gRO0000016PIAYA2-2"),
            "records": [contact(1), contact(2)]
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query/01gRO0000016PIAYA2-2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": "5", "done": false,
            "nextRecordsUrl": format!("{DATA}/query/01gRO0000016PIAYA2-4"),
            "records": [contact(3), contact(4)]
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query/01gRO0000016PIAYA2-4")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 5, "done": true,
            "records": [contact(5)]
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_query_follows_next_records_url_across_three_pages() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    mount_three_pages(&server).await;
    let client = client_for(&server);

    let contacts: Vec<RawContact> = client.query(SOQL).await.unwrap();

    let names: Vec<&str> = contacts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Contact 1",
            "Contact 2",
            "Contact 3",
            "Contact 4",
            "Contact 5"
        ]
    );
    assert_eq!(contacts[0].id, "003RO0000000001YAM");
}

#[tokio::test]
async fn a_query_page_returns_its_records_and_the_cursor_to_the_next() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    mount_three_pages(&server).await;
    let client = client_for(&server);

    let first = client.query_page::<RawContact>(SOQL).await.unwrap();
    assert_eq!(first.total_size, 5);
    assert!(!first.done);
    assert_eq!(first.records.len(), 2);
    let second = client
        .query_more::<RawContact>(first.next_records_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(second.total_size, 5, "a count sent as a string still reads");
    let third = client
        .query_more::<RawContact>(second.next_records_url.as_deref().unwrap())
        .await
        .unwrap();

    assert!(third.done);
    assert_eq!(third.next_records_url, None);
    assert_eq!(third.records[0].name, "Contact 5");
}

#[tokio::test]
async fn an_empty_result_is_an_empty_list() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalSize": 0, "done": true, "records": []})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server);

    let contacts: Vec<RawContact> = client.query(SOQL).await.unwrap();

    assert!(contacts.is_empty());
}

#[tokio::test]
async fn a_next_records_url_off_the_instance_is_refused_before_the_token_can_leak() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 4, "done": false,
            "nextRecordsUrl": "https://attacker.example/services/data/v60.0/query/x",
            "records": [contact(1)]
        })))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client.query::<RawContact>(SOQL).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_page_that_is_not_done_but_has_no_cursor_is_malformed_instead_of_looping() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/query")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 4, "done": false, "records": [contact(1)]
        })))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client.query::<RawContact>(SOQL).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}
