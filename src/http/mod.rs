//! HTTP plumbing shared by every context: the client address ([`client_ip`]), request ids, the request span and metrics, timeouts, the panic
//! guard, security headers, CORS, and [`resource`] (405 for unsupported methods).

pub mod client_ip;
mod middleware;
mod panic;
pub mod request_context;
mod resource;

pub use middleware::{REQUEST_ID_HEADER, cors, docs_headers, observe, security_headers};
pub use panic::catch_panic;
pub use resource::resource;
