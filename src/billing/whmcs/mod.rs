//! WHMCS's billing answers → the domain, one mapper per resource (the raw types are
//! `crate::integrations::whmcs::raw`): invoices (GetInvoices, GetInvoice), stored pay methods
//! (GetPayMethods), and the single sign-on token of a payment link (CreateSsoToken).

mod invoices;
mod pay_methods;
mod payments;

pub use invoices::{InvoiceInCurrency, InvoiceMapError};
pub use payments::{PaymentLink, invoice_page};
