//! `/__sandbox/freebit/…`: what tests need to see or provoke.

use actix_web::{HttpResponse, web};

use crate::SandboxState;

/// Every authKey issued so far stops working, as when Freebit expires a session.
pub async fn expire_auth(state: web::Data<SandboxState>) -> HttpResponse {
    state.freebit.lock().auth_keys.clear();
    HttpResponse::NoContent().finish()
}

pub async fn accounts(state: web::Data<SandboxState>) -> HttpResponse {
    let dump: Vec<_> = state
        .freebit
        .lock()
        .accounts
        .values()
        .map(|account| account.dump())
        .collect();
    HttpResponse::Ok().json(dump)
}
