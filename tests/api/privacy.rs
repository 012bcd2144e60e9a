//! Privacy requests (issue 18): the export of a person's data — the request, its steps and progress, the job
//! that assembles the archive, the signed download link — and the erasure run step by step with receipts,
//! for staff and for portal customers.

mod access;
mod erasure;
mod export;
mod fixtures;
mod forged_links;
mod overtaken;
mod portal;
mod receipts;
