//! Typed HTTP clients for the external systems. This layer owns transport only: authentication, retries,
//! paging, error mapping. Contexts own the raw payload types they read and the mappers to their domain.

pub mod freebit;
pub mod messaging;
pub mod salesforce;
pub mod social;
mod transport;
pub mod whmcs;

pub use transport::{ProviderClient, ProviderError, RawResponse, classify_by_status};
