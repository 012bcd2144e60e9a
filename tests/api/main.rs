#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod cli;
mod config;
mod cron;
mod errors;
mod health;
mod helpers;
mod jobs;
mod metrics;
mod openapi;
mod outbox;
