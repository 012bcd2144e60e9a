//! The clienteling API (`/api/v1/brands/{brand}/clienteling/…`).

mod activities;
mod assignments;
mod book;
mod clients;
mod enrichment;
mod fixtures;
mod follow;
mod interactions;
mod review_atk12;
mod mirror;
