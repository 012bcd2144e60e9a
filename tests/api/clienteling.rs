//! The clienteling API (`/api/v1/brands/{brand}/clienteling/…`).

mod assignments;
mod book;
mod catalogue_runs;
mod catalogue_search;
mod catalogue_sync;
mod clients;
mod fixtures;
mod interactions;
