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

use crate::helpers::{System, TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

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
