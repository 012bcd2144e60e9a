//! The mounting of every route: the operational ones at the root, every context's under `/api/v1`. A new
//! context adds one line to [`api_v1`].

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::health::routes)
        .configure(crate::operations::routes);
    cfg.configure(crate::auth::well_known);
    cfg.service(web::scope("/api/v1").configure(api_v1));
}

/// Business contexts mount here, under `/api/v1`.
fn api_v1(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::auth::routes)
        .configure(crate::brands::routes)
        .configure(crate::customers::routes)
        .configure(crate::billing::routes)
        .configure(crate::catalog::routes)
        .configure(crate::orders::routes)
        .configure(crate::support::routes)
        .configure(crate::subscriptions::routes)
        .configure(crate::crm::routes)
        .configure(crate::social::routes)
        .configure(crate::clienteling::routes)
        .configure(crate::privacy::routes)
        .configure(crate::brand_events::routes);
}
