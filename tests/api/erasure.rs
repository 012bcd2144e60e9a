//! Issue 18, the erasure building blocks: the CRM (whole person, suppression list, merge ledger), the
//! clienteling layer (interaction streams redacted by an appended event, tasks, appointments), the linked
//! systems through our clients and the sandbox (Salesforce, WHMCS, messaging, with receipts and
//! retryable failures) and the portal account. No endpoint exists yet: the published functions are called
//! directly, with the app's own state.

mod everywhere;
mod portal;
mod providers;
mod replay;
pub(crate) mod support;
