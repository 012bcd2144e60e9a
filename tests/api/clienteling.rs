//! The clienteling API (`/api/v1/brands/{brand}/clienteling/…`).

mod activities;
mod appointments;
mod assignments;
mod book;
mod catalogue_runs;
mod catalogue_search;
mod catalogue_sync;
mod clients;
mod dashboard;
mod enrichment;
pub mod fixtures;
mod follow;
mod interactions;
mod mirror;
mod outreach;
mod review_atk12;
mod review_atk13;
mod review_atk15;
mod review_atk16;
mod tasks;
mod view360;
