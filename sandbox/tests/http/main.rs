#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The sandbox over HTTP, with a plain client speaking each system's wire format: its control API and the
//! Salesforce stand-in. The product's clients are tested against it in the product's own tests.

mod control;
mod helpers;
mod salesforce;
mod social;
