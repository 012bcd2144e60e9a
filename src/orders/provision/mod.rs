//! Provisioning an approved order, exactly once however often the job runs: each external step's result is
//! recorded in `order_steps` before the next step starts, and a step whose outcome is unknown (a timeout
//! after the request went out) checks the external system before it is repeated.
//!
//! Steps: re-check the CRM (`Activation_Status__c` must be `Activating`), WHMCS AddOrder (the Salesforce
//! order id in its notes; before a repeat, GetOrders is searched for it), AcceptOrder, the eSIM at Freebit
//! (an EID already in use means an earlier attempt activated it only when that attempt was recorded as sent;
//! otherwise the EID is another line's and the order fails at once with that reason), then the write-back to Salesforce. The last
//! attempt of a failing job marks the order `failed`, opens a support case and emits
//! `order.provisioning_failed`; success emits `order.provisioned`.
//!
//! `job` is the job and its per-order lock, `steps` runs the steps in order and records them, and one
//! module per system holds that system's steps (`whmcs`, `freebit`, `salesforce`).

mod freebit;
mod job;
mod salesforce;
mod steps;
mod whmcs;

pub use job::{ProvisionOrder, run};
