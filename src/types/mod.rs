//! Value types shared by every context that parse themselves: a value of one of these types is valid by
//! construction, so handlers and services never re-check it.
//!
//! - [`ids`]: the identifiers that arrive in paths (`PathId<InvoiceId>`, …); a malformed one is answered
//!   with the id's own problem when the handler asks for it, after the caller is authenticated.
//! - [`Email`]: trimmed, lower-cased and checked.
//! - [`Currency`]: an ISO 4217 code.
//! - [`Cidr`]: an IP network, as configured for trusted proxies.
//! - [`Pagination`]: `limit` and `cursor` of every list.
//!
//! Rules a request field must pass without becoming one of these types are `validator` custom functions
//! next to the type (`Email::check`, `Currency::check`) or next to the data they need
//! (`customers::validation`, `subscriptions::plans::check`).

mod cidr;
mod country;
mod currency;
mod email;
pub mod ids;
pub mod pagination;
mod phone;
pub mod receipt;

#[cfg(test)]
mod proptests;

pub use cidr::{Cidr, InvalidCidr};
pub use country::{COUNTRIES, is_country};
pub use currency::Currency;
pub use email::{Email, InvalidEmail};
pub use ids::{CaseId, InvoiceId, OrderId, PathId, Sku, SubscriptionId};
pub use pagination::{Cursor, Limit, Listing, Pagination};
pub use phone::{is_e164, normalize_e164};
pub use receipt::{Receipt, ReceiptStatus, StepError};
