//! Issue 18, the erasure building blocks: the CRM (whole person, suppression list, merge ledger), the
//! clienteling layer (interaction streams redacted by an appended event, tasks, appointments), the linked
//! systems through our clients and the sandbox (Salesforce, WHMCS, messaging, with receipts and
//! retryable failures) and the portal account, called directly with the app's own state (the privacy
//! requests that run them are tested in `privacy::erasure`).

mod afterwards;
mod everywhere;
mod portal;
mod providers;
mod replay;
pub(crate) mod support;
