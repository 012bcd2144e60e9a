//! HTTP plumbing shared by every context: request ids, the request span and metrics, timeouts, security
//! headers and CORS.

mod middleware;
pub mod request_context;

pub use middleware::{REQUEST_ID_HEADER, cors, docs_headers, observe, security_headers};
