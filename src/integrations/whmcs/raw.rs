//! The raw shapes of the WHMCS actions Concierge uses, shared by the contexts that read them (customers,
//! billing, catalog, orders, subscriptions). Faithful to the wire, read tolerantly (see [`super::de`]): ids and
//! counts as numbers whether WHMCS sent `"1"` or `1`, amounts as exact [`Amount`]s, the zero date as `None`,
//! nested lists flattened to `Vec`s. Fields a context does not need are simply not declared. Nothing here
//! maps to the domain: that is each context's job.

mod billing;
mod clients;
mod orders;
mod services;

use serde::Deserialize;

pub use super::de::Amount;
pub use billing::{
    Invoice, InvoiceItem, InvoiceList, InvoiceSummary, PayMethod, PayMethods, Transaction,
};
pub use clients::{
    AddedClient, ClientDetails, ClientStats, ClientUser, SsoToken, UpdatedClient, ValidatedLogin,
};
pub use orders::{AddedOrder, Order, OrderLineItem, Orders};
pub use services::{
    ClientProduct, ClientProducts, ConfigOption, CustomField, Pricing, Product, Products,
};

/// The answer of actions whose success carries nothing more than `"result": "success"` (CapturePayment,
/// AcceptOrder).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ack {}
