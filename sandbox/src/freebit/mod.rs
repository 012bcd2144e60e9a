//! The Freebit stand-in: `POST /emptool/api/<path>/` with one form field `json=<JSON>`, answering HTTP 200
//! with a `resultCode` (`"100"` is success) for everything, errors included.
//!
//! Paths: `authOem`, `mvno/getDetail`, `mvno/getTrafficInfo`, `master/addSpec` (top-up), `mvno/changePlan`,
//! `mvno/suspend`, `mvno/resume`, `mvno/esim/addAcnt`. Response bodies other than the envelope and
//! `authOem` are our design (Freebit does not publish them); `crate::integrations::freebit::raw` shows them.
//!
//! Result codes (the real ones are mostly undocumented; these are the sandbox's):
//!
//! | code | when |
//! |---|---|
//! | `400-001` | the `json` field is missing or not a JSON object |
//! | `400-002` | a required parameter is missing |
//! | `400-003` | a parameter has the wrong format (dates `YYYYMMDD`, EID 32 digits, quota a number, kinds) |
//! | `400-101` | unknown account |
//! | `400-210` | unknown plan code |
//! | `400-301` | quota outside 1–512000 MB |
//! | `400-356` | the account is not in service (cancelled, or an eSIM still activating) |
//! | `400-401` / `400-402` | suspending a suspended line / resuming a line that is not suspended |
//! | `400-501` / `400-502` | eSIM activation with an EID or a number already in use |
//! | `401-001` | `authOem` with a wrong `oemId` / `oemKey` |
//! | `900` | missing, unknown or expired `authKey` (keys live `sandbox.token_ttl_secs`) |
//!
//! Behaviour: accounts are seeded from the demo SIM services (plan from the product, used data from the
//! service); a top-up adds to this month's quota (`expire` and `quotaCode` are accepted and ignored); a plan
//! change applies at once when `runTime` is today or past (Japan time), else waits as `pendingPlanCode`
//! until that day; an eSIM activation creates the account as `activating`, which the first account-detail
//! read still reports and which is `active` from then on (the profile "installs" when first looked at).
//!
//! Control: `POST /__sandbox/freebit/expire-auth` invalidates every issued authKey;
//! `GET /__sandbox/freebit/accounts` lists the accounts.

mod accounts;
mod auth;
mod changes;
mod control;
mod esim;
mod inquiry;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use actix_web::web;

use accounts::Account;

pub struct State {
    inner: Mutex<Inner>,
}

struct Inner {
    accounts: BTreeMap<String, Account>,
    /// Issued authKeys and when.
    auth_keys: HashMap<String, Instant>,
}

impl Inner {
    fn seeded() -> Self {
        Self {
            accounts: accounts::seeded(),
            auth_keys: HashMap::new(),
        }
    }
}

impl State {
    pub fn seeded() -> Self {
        Self {
            inner: Mutex::new(Inner::seeded()),
        }
    }

    pub fn reset(&self) {
        *self.lock() = Inner::seeded();
    }

    /// A handler that panicked mid-update leaves plain data behind, still usable for a test double.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    api(cfg, "authOem", auth::auth_oem);
    api(cfg, "mvno/getDetail", inquiry::detail);
    api(cfg, "mvno/getTrafficInfo", inquiry::traffic);
    api(cfg, "master/addSpec", changes::top_up);
    api(cfg, "mvno/changePlan", changes::change_plan);
    api(cfg, "mvno/suspend", changes::suspend);
    api(cfg, "mvno/resume", changes::resume);
    api(cfg, "mvno/esim/addAcnt", esim::add_account);
    cfg.route(
        "/__sandbox/freebit/expire-auth",
        web::post().to(control::expire_auth),
    )
    .route(
        "/__sandbox/freebit/accounts",
        web::get().to(control::accounts),
    );
}

/// Freebit's paths end in a slash; the bare path is accepted too rather than redirected.
fn api<H, Args>(cfg: &mut web::ServiceConfig, path: &str, handler: H)
where
    H: actix_web::Handler<Args> + Clone,
    Args: actix_web::FromRequest + 'static,
    H::Output: actix_web::Responder + 'static,
{
    cfg.route(
        &format!("/emptool/api/{path}/"),
        web::post().to(handler.clone()),
    )
    .route(&format!("/emptool/api/{path}"), web::post().to(handler));
}
