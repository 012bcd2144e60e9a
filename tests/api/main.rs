#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod billing;
mod cache;
mod catalog;
mod cli;
mod config;
mod cron;
mod customers;
mod demo_data;
mod errors;
mod health;
#[allow(dead_code)]
mod helpers;
mod integrations_freebit;
mod integrations_messaging;
mod integrations_salesforce;
mod integrations_salesforce_e2e;
mod integrations_transport;
mod integrations_whmcs;
mod jobs;
mod metrics;
mod openapi;
mod orders;
mod outbox;
mod subscriptions;
mod support;
