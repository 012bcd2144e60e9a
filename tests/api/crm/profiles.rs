//! Profiles: read, look-up, search, merge patch, custom attributes, identifiers and consent.

mod attributes;
mod consent;
mod fixtures;
mod identifiers;
mod read;
mod update;
