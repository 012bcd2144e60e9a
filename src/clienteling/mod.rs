//! Clienteling: the luxury client advisors' back end. A client IS the CRM profile of its brand (one person,
//! one record: marketers segment the same clients advisors look after); clienteling reaches the profiles only
//! through the CRM's published functions (`crm::resolve`, `crm::profile`) and keeps its own layer (the store
//! whose book holds the client, preferences, important dates, notes, advisors) in its own tables.
//!
//! Every route lives under `/api/v1/brands/{brand}/clienteling/…` and takes
//! [`crate::brands::InBrand`]`<Clienteling>` (client advisors, managers, admins; another brand's path is a
//! 404), then the caller's [`scope::Scope`] in every query: a client outside it answers 404.
//!
//! Published: [`Clienteling`] (the handle, with the reassignment hooks the tasks and appointments contexts
//! register), [`scope::grant_brand_wide`], [`scope::Scope::of_user`], [`client_in_scope`],
//! [`interactions::log::log`], the routes and `ApiDoc`.

pub mod appointments;
pub mod assign;
pub mod catalogue;
pub mod client;
pub mod dashboard;
pub mod erasure;
pub mod interactions;
pub mod outreach;
pub mod privacy_export;
pub(crate) mod repo;
mod routes_book;
pub(crate) mod routes_clients;
pub mod scope;
pub mod seed;
pub mod tasks;
pub mod view360;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

use std::sync::Arc;
use uuid::Uuid;

use crate::http::resource;
use crate::integrations::salesforce::SalesforceClient;
use crate::jobs::Runner;

pub use assign::{OnReassign, ReassignHooks, Reassignment};

/// What clienteling needs from the process, reached as `state.clienteling`.
#[derive(Clone)]
pub struct Clienteling {
    db: PgPool,
    reassign_hooks: ReassignHooks,
    processors: interactions::processors::Registry,
    salesforce: SalesforceClient,
    products: interactions::enrich::Products,
    catalogue: Option<catalogue::Catalogue>,
}

impl Clienteling {
    pub fn new(db: PgPool, salesforce: SalesforceClient) -> Self {
        let reassign_hooks = ReassignHooks::default();
        reassign_hooks.register(Arc::new(appointments::reassign::MoveAppointments));
        reassign_hooks.register(Arc::new(tasks::reassign::MoveTasks));
        Self {
            db,
            reassign_hooks,
            processors: interactions::processors::Registry::standard(),
            salesforce,
            products: None,
            catalogue: None,
        }
    }

    /// Where the enrichment job finds the products of SKUs (the brand catalogue).
    pub fn with_products(mut self, source: Arc<dyn interactions::enrich::ProductSource>) -> Self {
        self.products = Some(source);
        self
    }

    pub fn products(&self) -> Option<&Arc<dyn interactions::enrich::ProductSource>> {
        self.products.as_ref()
    }

    /// The Salesforce client (the Task mirror, order look-ups).
    pub fn salesforce(&self) -> &SalesforceClient {
        &self.salesforce
    }

    /// With the brands' catalogue sync (its Salesforce client and settings).
    pub fn with_catalogue(mut self, catalogue: catalogue::Catalogue) -> Self {
        self.catalogue = Some(catalogue);
        self
    }

    /// The catalogue sync's handle, when the process has one (`cli::build_state` always gives it one).
    pub fn catalogue(&self) -> Option<&catalogue::Catalogue> {
        self.catalogue.as_ref()
    }

    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// The interaction processors of every brand.
    pub fn processors(&self) -> &interactions::processors::Registry {
        &self.processors
    }

    /// Run when a client's primary advisor changes (open tasks, upcoming appointments move with it).
    pub fn reassign_hooks(&self) -> &ReassignHooks {
        &self.reassign_hooks
    }
}

/// A client of the book as another context needs them: the profile and the store whose book holds them.
#[derive(Debug, Clone)]
pub struct BookEntry {
    pub profile_id: Uuid,
    pub store_code: String,
}

/// The client `id` (a CRM profile id) if `scope` reaches them: what another context asks before an advisor
/// acts for a client (brand events' invitations and RSVPs). `None` is answered as a 404 by the caller.
pub async fn client_in_scope(
    conn: &mut sqlx::PgConnection,
    scope: &scope::Scope,
    id: Uuid,
) -> Result<Option<BookEntry>, sqlx::Error> {
    // An erased client is in nobody's reach for anything new (an invitation, an RSVP on their behalf).
    Ok(repo::visible(conn, scope, id, false)
        .await?
        .filter(|layer| layer.erased_at.is_none())
        .map(|layer| BookEntry {
            profile_id: layer.profile_id,
            store_code: layer.store_code,
        }))
}

/// This context's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes_clients::create_client,
        routes_clients::get_client,
        routes_clients::update_client,
        routes_book::list_clients,
        routes_book::my_book,
        routes_book::store_book,
        assign::reassign,
        assign::list_assignments,
        interactions::routes::create_interaction,
        interactions::routes::list_interactions,
        interactions::routes::get_interaction,
        interactions::routes::update_interaction,
        interactions::routes::delete_interaction,
        interactions::routes::interaction_history,
    ),
    components(schemas(
        client::Preferences,
        client::ImportantDate,
        client::CreateClient,
        client::UpdateClient,
        client::ClientCard,
        client::Assignment,
        client::Client,
        routes_book::ClientPage,
        assign::ReassignRequest,
        assign::Assignments,
        interactions::model::State,
        interactions::model::Event,
        interactions::routes::CreateInteraction,
        interactions::routes::UpdateInteraction,
        interactions::routes::InteractionPage,
        interactions::routes::History,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Registers this context's jobs (interaction enrichment, the Salesforce Task mirror).
pub fn jobs(runner: Runner, clienteling: &Clienteling) -> Runner {
    interactions::jobs(runner, clienteling)
}

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/clienteling";
    cfg.service(
        resource(&format!("{BASE}/clients"))
            .route(web::get().to(routes_book::list_clients))
            .route(web::post().to(routes_clients::create_client)),
    )
    .service(
        resource(&format!("{BASE}/clients/{{id}}"))
            .route(web::get().to(routes_clients::get_client))
            .route(web::patch().to(routes_clients::update_client)),
    )
    .service(
        resource(&format!("{BASE}/clients/{{id}}/assignments"))
            .route(web::get().to(assign::list_assignments))
            .route(web::post().to(assign::reassign)),
    )
    .service(
        resource(&format!("{BASE}/clients/{{id}}/interactions"))
            .route(web::get().to(interactions::routes::list_interactions))
            .route(web::post().to(interactions::routes::create_interaction)),
    )
    .service(
        resource(&format!("{BASE}/interactions/{{id}}"))
            .route(web::get().to(interactions::routes::get_interaction))
            .route(web::patch().to(interactions::routes::update_interaction))
            .route(web::delete().to(interactions::routes::delete_interaction)),
    )
    .service(
        resource(&format!("{BASE}/interactions/{{id}}/history"))
            .route(web::get().to(interactions::routes::interaction_history)),
    )
    .configure(catalogue::routes)
    .configure(appointments::routes)
    .configure(tasks::routes)
    .configure(outreach::routes)
    .configure(view360::routes)
    .configure(dashboard::routes)
    .service(resource(&format!("{BASE}/book")).route(web::get().to(routes_book::my_book)))
    .service(
        resource(&format!("{BASE}/stores/{{store}}/book"))
            .route(web::get().to(routes_book::store_book)),
    );
}
