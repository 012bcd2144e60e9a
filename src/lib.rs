//! Concierge: one binary serving the customer portal's BFF, the clienteling back end and the CRM engine.

pub mod auth;
pub mod billing;
pub mod brand_events;
pub mod brands;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod clienteling;
pub mod config;
pub mod crm;
pub mod customers;
pub mod db;
pub mod errors;
pub mod health;
pub mod housekeeping;
pub mod http;
pub mod idempotency;
pub mod integrations;
pub mod jobs;
pub mod money;
pub mod observability;
pub mod openapi;
pub mod operations;
pub mod orders;
pub mod outbox;
pub mod routes;
pub mod seed;
pub mod social;
pub mod startup;
pub mod state;
pub mod subscriptions;
pub mod support;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testing;
pub mod types;
