//! The customers context's tables, one module per table: `customer_links` and `profile_updates`. Only this
//! module touches them; functions take a pool or a connection (or transaction), so callers decide what
//! commits together.

mod links;
mod profile_updates;

pub use links::{
    LinkRow, RowStatus, create_unverified, find_links, link_status, record_failure, record_links,
    start_linking,
};
pub use profile_updates::{
    Stored, StoredUpdate, claim_update, fail_pending, insert_update, latest_unfinished,
    load_update, lock_customer_updates, save_update, supersede_pending,
};
