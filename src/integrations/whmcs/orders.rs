//! Services, the product catalog and orders.

use super::{WhmcsClient, indexed, param, raw};
use crate::integrations::ProviderError;

/// GetClientsProducts filters.
#[derive(Debug, Clone, Default)]
pub struct ClientProductsQuery {
    pub clientid: Option<u64>,
    pub serviceid: Option<u64>,
    pub pid: Option<u64>,
    pub limitstart: Option<u64>,
    pub limitnum: Option<u64>,
}

/// GetProducts filters: product ids (sent as a comma list) and a product group.
#[derive(Debug, Clone, Default)]
pub struct ProductsQuery {
    pub pids: Vec<u64>,
    pub gid: Option<u64>,
}

/// One product line of AddOrder. Without a billing cycle WHMCS uses the product's first offered one.
#[derive(Debug, Clone)]
pub struct OrderItem {
    pub pid: u64,
    /// monthly, quarterly, semiannually, annually, biennially, triennially, onetime.
    pub billingcycle: Option<String>,
    pub qty: Option<u32>,
}

/// AddOrder.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub clientid: u64,
    /// A payment gateway module name, e.g. `stripe`.
    pub paymentmethod: String,
    pub items: Vec<OrderItem>,
    pub promocode: Option<String>,
    pub noinvoice: bool,
    pub noemail: bool,
}

/// GetOrders filters. Without `limitnum` WHMCS returns 25.
#[derive(Debug, Clone, Default)]
pub struct OrdersQuery {
    pub id: Option<u64>,
    pub userid: Option<u64>,
    /// Pending, Active, Fraud, Cancelled.
    pub status: Option<String>,
    pub limitstart: Option<u64>,
    pub limitnum: Option<u64>,
}

fn optional(params: &mut Vec<(String, String)>, name: &str, value: Option<impl ToString>) {
    if let Some(value) = value {
        params.push(param(name, value));
    }
}

/// WHMCS reads flags with PHP truthiness, where the string "false" is true: a false flag is left out.
fn flag(params: &mut Vec<(String, String)>, name: &str, value: bool) {
    if value {
        params.push(param(name, "true"));
    }
}

impl WhmcsClient {
    pub async fn get_clients_products(
        &self,
        query: &ClientProductsQuery,
    ) -> Result<raw::ClientProducts, ProviderError> {
        let mut params = Vec::new();
        optional(&mut params, "clientid", query.clientid);
        optional(&mut params, "serviceid", query.serviceid);
        optional(&mut params, "pid", query.pid);
        optional(&mut params, "limitstart", query.limitstart);
        optional(&mut params, "limitnum", query.limitnum);
        self.call("GetClientsProducts", &params).await
    }

    pub async fn get_products(
        &self,
        query: &ProductsQuery,
    ) -> Result<raw::Products, ProviderError> {
        let mut params = Vec::new();
        if !query.pids.is_empty() {
            let pids: Vec<String> = query.pids.iter().map(u64::to_string).collect();
            params.push(param("pid", pids.join(",")));
        }
        optional(&mut params, "gid", query.gid);
        self.call("GetProducts", &params).await
    }

    /// Creates a Pending order (and its Pending services and invoice). Sent once (see
    /// [`WhmcsClient::call_once`]): after an `Unavailable` error, look for the order with GetOrders before
    /// placing it again.
    pub async fn add_order(&self, order: &NewOrder) -> Result<raw::AddedOrder, ProviderError> {
        self.add_order_noted(order, None).await
    }

    /// AddOrder with admin `notes` on the order (e.g. the CRM's order id, so that a caller unsure whether
    /// an earlier attempt went through can find it with GetOrders before placing it again). Sent once.
    pub async fn add_order_noted(
        &self,
        order: &NewOrder,
        notes: Option<&str>,
    ) -> Result<raw::AddedOrder, ProviderError> {
        let mut params = vec![
            param("clientid", order.clientid),
            param("paymentmethod", &order.paymentmethod),
        ];
        let pids: Vec<u64> = order.items.iter().map(|item| item.pid).collect();
        params.extend(indexed("pid", &pids));
        // Indexes stay aligned with pid[]: an item without a cycle or quantity simply has no entry.
        for (index, item) in order.items.iter().enumerate() {
            if let Some(cycle) = &item.billingcycle {
                params.push(param(&format!("billingcycle[{index}]"), cycle));
            }
            if let Some(qty) = item.qty {
                params.push(param(&format!("qty[{index}]"), qty));
            }
        }
        optional(&mut params, "promocode", order.promocode.as_deref());
        optional(&mut params, "notes", notes);
        flag(&mut params, "noinvoice", order.noinvoice);
        flag(&mut params, "noemail", order.noemail);
        self.call_once("AddOrder", &params).await
    }

    /// Retried: accepting twice is refused ("Order ID not found or Status not Pending"), so a repeat cannot
    /// do harm, but that rejection after a transient failure may mean the first attempt went through.
    pub async fn accept_order(
        &self,
        order_id: u64,
        autosetup: bool,
        sendemail: bool,
    ) -> Result<raw::Ack, ProviderError> {
        let mut params = vec![param("orderid", order_id)];
        flag(&mut params, "autosetup", autosetup);
        flag(&mut params, "sendemail", sendemail);
        self.call("AcceptOrder", &params).await
    }

    pub async fn get_orders(&self, query: &OrdersQuery) -> Result<raw::Orders, ProviderError> {
        let mut params = Vec::new();
        optional(&mut params, "id", query.id);
        optional(&mut params, "userid", query.userid);
        optional(&mut params, "status", query.status.as_deref());
        optional(&mut params, "limitstart", query.limitstart);
        optional(&mut params, "limitnum", query.limitnum);
        self.call("GetOrders", &params).await
    }
}
