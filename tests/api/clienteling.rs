//! The clienteling API (`/api/v1/brands/{brand}/clienteling/…`).

mod assignments;
mod book;
mod clients;
mod fixtures;
mod interactions;
mod review_atk12;
