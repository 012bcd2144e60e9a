//! The WHMCS stand-in: `POST /includes/api.php`, form-encoded, for the actions Concierge uses, answering in
//! the real shapes (see PROVIDERS.md): numbers as strings where WHMCS sends strings, nested lists
//! (`{"invoices":{"invoice":[…]}}`) that collapse to `[]` when empty, `"transactions": ""`, display money
//! (`"¥0.00 JPY"`) in client stats, `-1.00` for cycles a product does not offer, comma-joined id lists.
//! Every answer is HTTP 200 JSON, errors included, with the real messages.
//!
//! Deliberate simplifications (guesses where the real behaviour is undocumented):
//! - one currency (JPY, id 1), one billing cycle per product, no taxes, credit or promotions (`promocode`
//!   ignored); the seeded orders have no invoice (`invoiceid` 0, `paymentstatus` null), so the demo
//!   invoices stay exactly those of `demo::INVOICES`;
//! - "today" is the UTC date: Overdue means Unpaid with a due date before it;
//! - GetInvoices sorts by `id desc` unless `orderby`/`order` say otherwise; GetOrders by id desc and
//!   GetClientsProducts by id asc, as WHMCS does;
//! - AddOrder ignores `customfields[]`/`configoptions[]` (base64 PHP arrays at WHMCS), clamps `qty` to 1–100
//!   and refuses unknown products ("Invalid Product ID") and cycles not offered ("Invalid Billing Cycle");
//! - AcceptOrder marks the order's services Active whatever `autosetup` says (nothing to provision here);
//! - AddOrder with `noinvoice` answers `"invoiceid": "0"`; its `notes` are kept and shown by GetOrders;
//! - answers are JSON whatever `responsetype` says (the real default is XML);
//! - messages taken from WHMCS's API and language files where known; guessed: "Duplicate Email Address"
//!   (UpdateClient), "Invalid destination" / "Invalid Service ID" (CreateSsoToken), "Invalid Product ID",
//!   "Invalid Billing Cycle", "Invalid redirect path" (CreateSsoToken `sso:custom_redirect` without a usable
//!   `sso_redirect_path`), "No items added to cart so order cannot proceed" (AddOrder).
//!
//! - CloseClient (erasure: after an anonymising UpdateClient) closes the client and cancels their services
//!   and unpaid invoices;
//! - charging and billing changes: CreateInvoice (`itemdescriptionX`/`itemamountX`/`itemtaxedX`, `notes`),
//!   UpdateInvoice (`status`, `paymentmethod`, `notes`), AddPayMethod (`set_as_default` puts it first: a
//!   client's first pay method is the default CapturePayment charges), UpdateClientProduct (`status`, `pid`,
//!   `nextduedate`, `recurringamount`) and UpgradeProduct (`type=product` only; applied at once, see there);
//!
//! Control: `GET /__sandbox/whmcs/orders` dumps orders and services; `GET /oauth/singlesignon.php` is where
//! CreateSsoToken's redirect lands (one use, 60 seconds).

mod billing;
mod clients;
mod control;
mod orders;
mod params;
mod reply;
mod services;
mod store;

use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use secrecy::ExposeSecret;

use crate::SandboxState;
use crate::config::WhmcsAccepts;
use params::Params;
use reply::Answer;
use store::Store;

pub struct State {
    store: Mutex<Store>,
}

impl State {
    pub fn seeded() -> Self {
        Self {
            store: Mutex::new(Store::seeded()),
        }
    }

    pub fn reset(&self) {
        *self.lock() = Store::seeded();
    }

    /// A handler that panicked cannot leave the records half-written in a way worse than a failed test, so
    /// a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/includes/api.php", web::post().to(api))
        .route(
            "/oauth/singlesignon.php",
            web::get().to(control::single_sign_on),
        )
        .route("/__sandbox/whmcs/orders", web::get().to(control::orders));
}

/// What a handler needs besides the parameters and the records.
pub struct Context {
    pub today: NaiveDate,
    pub now: NaiveDateTime,
    /// `Host` of the request, for links back to the sandbox (SSO redirect).
    pub host: String,
}

async fn api(
    request: HttpRequest,
    state: web::Data<SandboxState>,
    body: web::Bytes,
) -> HttpResponse {
    let params = Params::parse(&body);
    let answer = if authenticated(&params, &state.config.whmcs) {
        let now = Utc::now().naive_utc();
        let context = Context {
            today: now.date(),
            now,
            host: request.connection_info().host().to_owned(),
        };
        let mut store = state.whmcs.lock();
        dispatch(&params, &mut store, &context)
    } else {
        Err(reply::error("Authentication Failed"))
    };
    match answer {
        Ok(body) | Err(body) => HttpResponse::Ok().json(body),
    }
}

fn authenticated(params: &Params, settings: &WhmcsAccepts) -> bool {
    let access_key_ok = settings
        .access_key
        .as_ref()
        .is_none_or(|key| params.get("accesskey") == Some(key.expose_secret()));
    params.get("identifier") == Some(settings.identifier.as_str())
        && params.get("secret") == Some(settings.secret.expose_secret())
        && access_key_ok
}

fn dispatch(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let action = params
        .get("action")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match action.as_str() {
        "validatelogin" => clients::validate_login(params, store),
        "addclient" => clients::add_client(params, store, context),
        "getclientsdetails" => clients::get_clients_details(params, store, context),
        "updateclient" => clients::update_client(params, store),
        "closeclient" => clients::close_client(params, store),
        "createssotoken" => clients::create_sso_token(params, store, context),
        "getinvoices" => billing::get_invoices(params, store, context),
        "getinvoice" => billing::get_invoice(params, store),
        "createinvoice" => billing::create_invoice(params, store, context),
        "updateinvoice" => billing::update_invoice(params, store),
        "getpaymethods" => billing::get_pay_methods(params, store),
        "addpaymethod" => billing::add_pay_method(params, store, context),
        "capturepayment" => billing::capture_payment(params, store, context),
        "getclientsproducts" => services::get_clients_products(params, store),
        "updateclientproduct" => services::update_client_product(params, store),
        "upgradeproduct" => services::upgrade_product(params, store, context),
        "getproducts" => services::get_products(params, store),
        "addorder" => orders::add_order(params, store, context),
        "acceptorder" => orders::accept_order(params, store),
        "getorders" => orders::get_orders(params, store),
        _ => Err(reply::error("Command Not Found")),
    }
}
