//! The messaging client against the sandbox and wiremock.

mod failures;
mod sending;

use concierge::config::Settings;
use concierge::integrations::ProviderError;
use concierge::integrations::messaging::{
    Channel, MessageStatus, MessagingClient, OutgoingMessage,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

const DEMO_EMAIL: &str = "demo@concierge.test";

fn client(sandbox: &TestSandbox) -> MessagingClient {
    MessagingClient::new(&settings_for_sandbox(sandbox).providers).unwrap()
}

fn client_with(sandbox: &TestSandbox, configure: impl FnOnce(&mut Settings)) -> MessagingClient {
    let mut settings = settings_for_sandbox(sandbox);
    configure(&mut settings);
    MessagingClient::new(&settings.providers).unwrap()
}

fn reset_email(link: &str) -> OutgoingMessage {
    OutgoingMessage::new(
        Channel::Email,
        DEMO_EMAIL,
        format!("Reset your password: {link}"),
    )
    .with_subject("Reset your password")
    .with_template("password_reset")
}

async fn sent_to(sandbox: &TestSandbox, to: &str) -> Vec<Value> {
    reqwest::Client::new()
        .get(format!("{}/__sandbox/messaging/messages", sandbox.url))
        .query(&[("to", to)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn messaging_requests(sandbox: &TestSandbox) -> usize {
    let log: Vec<Value> = reqwest::get(format!(
        "{}/__sandbox/requests?system=messaging",
        sandbox.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    log.len()
}

async fn inject_fault(sandbox: &TestSandbox, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/messaging", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}
