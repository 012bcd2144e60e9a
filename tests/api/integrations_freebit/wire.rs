//! Freebit's wire format, including the inconsistencies only wiremock can produce.

use super::*;

#[tokio::test]
async fn a_request_without_the_json_field_gets_a_parse_error() {
    let sandbox = spawn_sandbox().await;

    let answer: Value = reqwest::Client::new()
        .post(format!("{}/emptool/api/mvno/getDetail/", sandbox.url))
        .form(&[("jsn", "{}")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let garbled: Value = reqwest::Client::new()
        .post(format!("{}/emptool/api/authOem/", sandbox.url))
        .form(&[("json", "{\"oemId\":")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let parse_error = json!({
        "resultCode": "400-001",
        "status": { "message": "json parse error", "statusCode": "400" },
    });
    assert_eq!(answer, parse_error);
    assert_eq!(garbled, parse_error);
}

async fn freebit_mock(auth_key_answer: Value) -> (MockServer, FreebitClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/authOem/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(auth_key_answer))
        .mount(&server)
        .await;
    let mut settings = test_settings("unused");
    settings.providers.freebit.base_url = server.uri();
    let client = FreebitClient::new(&settings.providers).unwrap();
    (server, client)
}

#[tokio::test]
async fn a_numeric_result_code_and_numeric_megabytes_are_understood() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": 100, "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getTrafficInfo/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resultCode": 100,
            "account": 8012345678_u64,
            "traffic": { "month": 202611, "usedMb": 100, "quotaMb": "3072", "remainingMb": 2972.0, "addedMb": "" },
        })))
        .mount(&server)
        .await;

    let traffic = freebit.traffic_info("8012345678").await.unwrap();

    assert_eq!(traffic.account, "8012345678");
    assert_eq!(traffic.traffic.month, "202611");
    assert_eq!(traffic.traffic.used_mb, 100);
    assert_eq!(traffic.traffic.quota_mb, 3_072);
    assert_eq!(traffic.traffic.remaining_mb, 2_972);
    assert_eq!(traffic.traffic.added_mb, 0);
}

#[tokio::test]
async fn a_200_answer_that_is_not_json_is_malformed_and_not_retried() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getDetail/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>メンテナンス中</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn requests_are_form_encoded_with_the_auth_key_inside_the_json_field() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-42" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/suspend/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "resultCode": "100", "status": { "message": "OK", "statusCode": "200" } }),
        ))
        .mount(&server)
        .await;

    freebit.suspend(DEMO_SIM).await.unwrap();

    let received = server.received_requests().await.unwrap();
    let suspend = received
        .iter()
        .find(|request| request.url.path() == "/emptool/api/mvno/suspend/")
        .unwrap();
    assert_eq!(
        suspend.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&suspend.body).unwrap();
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].0, "json");
    let payload: Value = serde_json::from_str(&form[0].1).unwrap();
    assert_eq!(payload, json!({ "authKey": "k-42", "account": DEMO_SIM }));
}

#[tokio::test]
async fn an_answer_without_the_account_asked_for_is_malformed() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getDetail/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "resultCode": "100", "responseDatas": "" })),
        )
        .mount(&server)
        .await;

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}
