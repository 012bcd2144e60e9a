//! ValidateLogin, GetClientsDetails, AddClient, UpdateClient, CreateSsoToken and credentials.

use concierge::integrations::ProviderError;
use concierge::integrations::whmcs::{ClientRef, NewClient, SsoRequest, param, raw::Amount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{DEMO_EMAIL, DEMO_PASSWORD, client_for, rejection_code, sandbox_with_client};
use crate::helpers::settings_for_sandbox;

fn new_client(email: &str) -> NewClient {
    NewClient {
        firstname: "Kenji".into(),
        lastname: "Sato".into(),
        email: email.into(),
        address1: "7-8-9 Sakae".into(),
        city: "Naka-ku".into(),
        state: "Aichi".into(),
        postcode: "460-0008".into(),
        country: "JP".into(),
        phonenumber: "+819011112222".into(),
        password: Some(SecretString::from("kenji-password-1")),
        extra: Vec::new(),
    }
}

#[tokio::test]
async fn validate_login_accepts_the_demo_customers_password() {
    let (_sandbox, client) = sandbox_with_client().await;

    let login = client
        .validate_login(DEMO_EMAIL, &SecretString::from(DEMO_PASSWORD))
        .await
        .unwrap();

    assert_eq!(login.userid, 1);
    assert!(!login.two_factor_enabled);
}

#[tokio::test]
async fn validate_login_with_a_wrong_password_is_rejected_and_not_retried() {
    let (sandbox, client) = sandbox_with_client().await;

    let result = client
        .validate_login(DEMO_EMAIL, &SecretString::from("not-the-password"))
        .await;

    assert_eq!(rejection_code(result), "email_or_password_invalid");
    assert_eq!(sandbox.whmcs_calls("ValidateLogin"), 1);
}

#[tokio::test]
async fn wrong_api_credentials_are_an_auth_error() {
    let sandbox = crate::helpers::spawn_sandbox().await;
    let mut settings = settings_for_sandbox(&sandbox);
    settings.providers.whmcs.secret = SecretString::from("wrong-secret");
    let client = client_for(&settings);

    let result = client.get_clients_details(ClientRef::Id(1), false).await;

    match result {
        Err(ProviderError::Auth { message, .. }) => assert_eq!(message, "Authentication Failed"),
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert_eq!(sandbox.whmcs_calls("GetClientsDetails"), 1);
}

#[tokio::test]
async fn client_details_by_email_carry_the_fields_users_and_stats() {
    let (_sandbox, client) = sandbox_with_client().await;

    let details = client
        .get_clients_details(ClientRef::Email(DEMO_EMAIL), true)
        .await
        .unwrap();

    assert_eq!(details.client_id(), Some(1));
    assert_eq!(details.firstname, "Hanako");
    assert_eq!(details.countrycode, "JP");
    assert_eq!(details.currency_code, "JPY");
    assert_eq!(details.users().len(), 1);
    assert!(details.users()[0].is_owner);
    let stats = details.stats.expect("stats were asked for");
    assert_eq!(stats.numpaidinvoices, 1);
    assert_eq!(stats.paidinvoicesamount, Amount::from_units(2980 + 490));
    assert_eq!(stats.numunpaidinvoices, 2);
    assert_eq!(
        stats.unpaidinvoicesamount,
        Amount::from_units(2980 + 2980 + 2500)
    );
    assert_eq!(stats.productsnumactive, 2);
}

#[tokio::test]
async fn client_details_show_money_as_display_strings_on_the_wire() {
    let (_sandbox, client) = sandbox_with_client().await;

    let body: Value = client
        .call(
            "GetClientsDetails",
            &[param("clientid", 2), param("stats", true)],
        )
        .await
        .unwrap();

    assert_eq!(body["stats"]["paidinvoicesamount"], "¥4800.00 JPY");
    assert_eq!(
        body["client"]["users"]["user"][0]["email"],
        "taro@concierge.test"
    );
    assert_eq!(body["id"], 2, "GetClientsDetails ids are numbers");
}

#[tokio::test]
async fn client_details_of_an_unknown_client_are_rejected() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client
        .get_clients_details(ClientRef::Email("nobody@concierge.test"), false)
        .await;

    assert_eq!(rejection_code(result), "client_not_found");
}

#[tokio::test]
async fn an_added_client_can_log_in_and_its_email_cannot_be_added_twice() {
    let (sandbox, client) = sandbox_with_client().await;

    let added = client
        .add_client(&new_client("kenji@concierge.test"))
        .await
        .unwrap();
    let login = client
        .validate_login(
            "kenji@concierge.test",
            &SecretString::from("kenji-password-1"),
        )
        .await
        .unwrap();
    let duplicate = client.add_client(&new_client("KENJI@concierge.test")).await;

    assert_eq!(added.clientid, 4);
    assert_eq!(login.userid, 4);
    assert_eq!(
        rejection_code(duplicate),
        "a_user_already_exists_with_that_email_address"
    );
    assert_eq!(sandbox.whmcs_calls("AddClient"), 2);
}

#[tokio::test]
async fn add_client_without_a_required_field_gets_the_whmcs_message() {
    let (_sandbox, client) = sandbox_with_client().await;
    let mut incomplete = new_client("anon@concierge.test");
    incomplete.firstname = String::new();

    let result = client.add_client(&incomplete).await;

    match result {
        Err(ProviderError::Rejected { message, .. }) => {
            assert_eq!(message, "You did not enter your first name")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn update_client_changes_the_given_fields_only() {
    let (_sandbox, client) = sandbox_with_client().await;

    let updated = client
        .update_client(
            2,
            &[
                param("city", "Naniwa-ku"),
                param("phonenumber", "+818000000000"),
            ],
        )
        .await
        .unwrap();
    let details = client
        .get_clients_details(ClientRef::Id(2), false)
        .await
        .unwrap();

    assert_eq!(updated.clientid, 2);
    assert_eq!(details.city, "Naniwa-ku");
    assert_eq!(details.phonenumber, "+818000000000");
    assert_eq!(details.lastname, "Suzuki");
}

#[tokio::test]
async fn update_client_of_an_unknown_client_is_rejected() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client.update_client(99, &[param("city", "Kyoto")]).await;

    assert_eq!(rejection_code(result), "client_id_not_found");
}

#[tokio::test]
async fn an_sso_token_redirects_to_the_sandbox_once() {
    let (sandbox, client) = sandbox_with_client().await;

    let token = client
        .create_sso_token(&SsoRequest {
            client_id: 1,
            destination: Some("clientarea:invoices".into()),
            service_id: None,
        })
        .await
        .unwrap();

    let redirect = token.redirect_url.expose_secret().to_owned();
    assert_eq!(
        redirect,
        format!(
            "{}/oauth/singlesignon.php?access_token={}",
            sandbox.url,
            token.access_token.expose_secret()
        )
    );
    assert!(!format!("{token:?}").contains(token.access_token.expose_secret()));
    let first = reqwest::get(&redirect).await.unwrap();
    assert_eq!(first.status(), 200);
    let second = reqwest::get(&redirect).await.unwrap();
    assert_eq!(second.status(), 403, "a token works once");
}

#[tokio::test]
async fn an_sso_token_for_an_unknown_client_is_rejected() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client
        .create_sso_token(&SsoRequest {
            client_id: 42,
            destination: None,
            service_id: None,
        })
        .await;

    assert_eq!(rejection_code(result), "client_id_not_found");
}

#[tokio::test]
async fn an_unknown_action_is_rejected_as_command_not_found() {
    let (_sandbox, client) = sandbox_with_client().await;

    let result = client.call::<Value>("GetEverything", &[]).await;

    assert_eq!(rejection_code(result), "command_not_found");
}

#[tokio::test]
async fn every_action_without_parameters_answers_in_whmcs_terms() {
    let (_sandbox, client) = sandbox_with_client().await;
    let actions = [
        "ValidateLogin",
        "AddClient",
        "GetClientsDetails",
        "UpdateClient",
        "GetInvoices",
        "GetInvoice",
        "GetPayMethods",
        "CapturePayment",
        "CreateSsoToken",
        "GetClientsProducts",
        "GetProducts",
        "AddOrder",
        "AcceptOrder",
        "GetOrders",
    ];

    for action in actions {
        let result = client.call::<Value>(action, &[]).await;

        assert!(
            matches!(result, Ok(_) | Err(ProviderError::Rejected { .. })),
            "{action}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_refused_as_unauthenticated() {
    let sandbox = crate::helpers::spawn_sandbox().await;

    let response = reqwest::Client::new()
        .post(format!("{}/includes/api.php", sandbox.url))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{', b'%', b'&', b'='])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "error");
    assert_eq!(body["message"], "Authentication Failed");
}
