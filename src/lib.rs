//! Concierge: one binary serving the customer portal's BFF, the clienteling back end and the CRM engine.

pub mod auth;
pub mod billing;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod config;
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
pub mod outbox;
pub mod routes;
pub mod sandbox;
pub mod seed;
pub mod startup;
pub mod state;
pub mod support;
pub mod telemetry;
