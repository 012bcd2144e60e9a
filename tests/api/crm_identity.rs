//! CRM identity: resolution (`POST …/crm/profiles`), merges, the ledger and unmerge.

mod access;
mod concurrency;
mod merges;
mod resolution;
mod support;
mod unmerge;
