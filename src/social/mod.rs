//! Social publishing: a brand's marketers connect Facebook Pages, Instagram professional accounts and X
//! accounts, and schedule posts that go out to several of them at `publish_at`, with a status per network
//! (see `docs/social.md`).
//!
//! Published: the handle [`Social`], [`TokenCipher`] (config validation), [`connect_account`] for demo
//! data, `routes`, `jobs`, `ApiDoc`.

mod crypto;
pub mod demo;
mod domain;
mod publish;
mod repo;
mod routes;
mod validation;

use std::time::Duration;

use actix_web::web;
use secrecy::SecretString;
use sqlx::PgPool;
use utoipa::OpenApi;
use uuid::Uuid;

pub use crypto::TokenCipher;
pub use demo::demo_accounts;
pub use domain::Network;

use crate::config::{JobSettings, ProviderSettings, SocialSettings};
use crate::http::resource;
use crate::integrations::social::{FacebookClient, InstagramClient, XClient};
use crate::jobs::Runner;

/// The handle: the pool, the settings, the token cipher and the three networks' clients.
#[derive(Clone)]
pub struct Social {
    db: PgPool,
    jobs: JobSettings,
    settings: SocialSettings,
    cipher: TokenCipher,
    facebook: FacebookClient,
    instagram: InstagramClient,
    x: XClient,
}

impl Social {
    pub fn new(
        db: PgPool,
        jobs: JobSettings,
        settings: SocialSettings,
        providers: &ProviderSettings,
    ) -> anyhow::Result<Self> {
        let cipher = TokenCipher::new(&settings.token_key)
            .map_err(|why| anyhow::anyhow!("social.token_key: {why}"))?;
        Ok(Self {
            facebook: FacebookClient::new(
                providers,
                settings.usage_pause_percent,
                Duration::from_secs(settings.usage_pause_secs),
            )?,
            instagram: InstagramClient::new(providers)?,
            x: XClient::new(providers)?,
            db,
            jobs,
            settings,
            cipher,
        })
    }
}

#[allow(clippy::too_many_arguments)]
/// Demo data and tests: connects (or reconnects) an account of the brand; answers its id.
pub async fn connect_account(
    social: &Social,
    brand_id: Uuid,
    network: Network,
    external_id: &str,
    name: &str,
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_in: Option<Duration>,
) -> anyhow::Result<Uuid> {
    let account = routes::connect(
        social,
        brand_id,
        &domain::ConnectAccountRequest {
            network,
            external_id: external_id.to_owned(),
            name: name.to_owned(),
            access_token,
            refresh_token,
            expires_in: expires_in.and_then(|d| u32::try_from(d.as_secs()).ok()),
        },
    )
    .await?;
    Ok(account.id)
}

pub fn jobs(runner: Runner, handle: &Social) -> anyhow::Result<Runner> {
    let social = handle.clone();
    Ok(runner
        .register(move |job: publish::PublishPost, ctx| publish::run(social.clone(), job, ctx)))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::connect_account,
        routes::list_accounts,
        routes::get_account,
        routes::delete_account,
        routes::create_post,
        routes::list_posts,
        routes::get_post,
        routes::patch_post,
        routes::delete_post,
    ),
    components(schemas(
        domain::Network,
        domain::ConnectAccountRequest,
        domain::Account,
        domain::CreatePostRequest,
        domain::PatchPostRequest,
        domain::Target,
        domain::Post,
        routes::AccountList,
        routes::PostPage,
    ))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands/{brand}/social/accounts")
            .route(web::get().to(routes::list_accounts))
            .route(web::post().to(routes::connect_account)),
    )
    .service(
        resource("/brands/{brand}/social/accounts/{id}")
            .route(web::get().to(routes::get_account))
            .route(web::delete().to(routes::delete_account)),
    )
    .service(
        resource("/brands/{brand}/social/posts")
            .route(web::get().to(routes::list_posts))
            .route(web::post().to(routes::create_post)),
    )
    .service(
        resource("/brands/{brand}/social/posts/{id}")
            .route(web::get().to(routes::get_post))
            .route(web::patch().to(routes::patch_post))
            .route(web::delete().to(routes::delete_post)),
    );
}
