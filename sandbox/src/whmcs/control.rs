//! The stand-in's own routes: a dump of orders and services for tests, and the page CreateSsoToken's
//! redirect URL opens.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::SandboxState;

/// `GET /__sandbox/whmcs/orders`: every order and service, newest last, in the sandbox's own shape.
pub async fn orders(state: web::Data<SandboxState>) -> HttpResponse {
    let store = state.whmcs.lock();
    HttpResponse::Ok().json(json!({ "orders": store.orders, "services": store.services }))
}

#[derive(Deserialize)]
pub struct SingleSignOn {
    access_token: Option<String>,
}

/// `GET /oauth/singlesignon.php?access_token=…`: a token works once, within 60 seconds of its creation.
pub async fn single_sign_on(
    state: web::Data<SandboxState>,
    query: web::Query<SingleSignOn>,
) -> HttpResponse {
    let now = Utc::now().naive_utc();
    let mut store = state.whmcs.lock();
    let token = store.sso_tokens.iter_mut().find(|token| {
        query.access_token.as_deref() == Some(token.token.as_str())
            && !token.used
            && token.expires_at > now
    });
    match token {
        Some(token) => {
            token.used = true;
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(format!(
                    "<h1>WHMCS sandbox client area</h1><p>Signed in as client {} ({}).</p>",
                    token.client_id, token.destination
                ))
        }
        None => HttpResponse::Forbidden()
            .content_type("text/html; charset=utf-8")
            .body("<h1>WHMCS sandbox</h1><p>Invalid or expired single sign-on token.</p>"),
    }
}
