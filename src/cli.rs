//! The `concierge` command line. `main.rs` only calls [`run`].

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::sync::watch;

use crate::cache::Cache;
use crate::config::Settings;
use crate::jobs::{JobsStatus, Runner};
use crate::outbox::{Dispatcher, RedisStreamSink};
use crate::startup::{Application, MetricsListener};
use crate::state::AppState;
use crate::{db, housekeeping, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "concierge",
    version,
    about = "Concierge: portal BFF, clienteling and CRM back end"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and run the background jobs in the same process.
    Serve {
        /// Serve the API only; run the jobs in separate `concierge worker` processes.
        #[arg(long)]
        no_jobs: bool,
    },
    /// Run the background jobs only (queues, cron schedules, outbox delivery).
    Worker,
    /// Apply database migrations and exit. Safe to run while other replicas start.
    Migrate,
    /// Apply migrations, then load the demo data used by `scripts/run` (or, with `crm`, synthetic CRM data).
    Seed {
        #[command(subcommand)]
        data: Option<SeedData>,
    },
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// CRM segments.
    Segments {
        #[command(subcommand)]
        command: SegmentsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// Recompute dynamic segments and write only their entries and exits (then the segments naming them).
    Refresh(crate::crm::segments::cli::RefreshArgs),
}

#[derive(Debug, Subcommand)]
pub enum SeedData {
    /// Load synthetic CRM profiles, identifiers, consents and activities into an existing brand with COPY,
    /// for benchmarks. Each run adds a new batch (fresh ids, emails, phones). Distribution: docs/crm-seed.md
    /// (tiers member 35 % / silver 25 % / gold 25 % / platinum 15 %; countries FR 50 %, JP 12 %, IT, GB, US
    /// 8 % each, DE, CN 5 %, KR 4 %; half the profiles bought in the last 180 days; activities over the
    /// last 2 years): `tier IN (gold, platinum) AND country = FR AND a purchase in the last 180 days`
    /// matches 10 % of the profiles.
    Crm(SeedCrm),
}

#[derive(Debug, clap::Args)]
pub struct SeedCrm {
    /// The brand's slug (`concierge seed` creates the demo brands `mobile`, `maison`, `atelier`).
    #[arg(long)]
    pub brand: String,
    /// How many profiles to add.
    #[arg(long)]
    pub profiles: u64,
    /// How many activities to add, spread over the profiles (0.3 + Exp(1) weights: a few heavy clients).
    #[arg(long)]
    pub activities: u64,
    /// The same seed gives the same people and activities (ids, and the serial in emails, differ per run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Profiles per transaction.
    #[arg(long, default_value_t = 10_000)]
    pub chunk: u64,
    /// Connections loading chunks in parallel.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Only ANALYZE afterwards, without VACUUM (which sets hint bits and the visibility map up front).
    #[arg(long)]
    pub no_vacuum: bool,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        return match crate::openapi::to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        };
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("concierge: {error}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match telemetry::init(&settings.telemetry) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("concierge: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error.into()),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { no_jobs } => serve(settings, !no_jobs, true).await,
            Command::Worker => serve(settings, true, false).await,
            Command::Migrate => migrate(&settings).await,
            Command::Seed { data: None } => seed(&settings).await,
            Command::Seed {
                data: Some(SeedData::Crm(plan)),
            } => seed_crm(&settings, plan).await,
            Command::Openapi => Ok(()),
            Command::Segments {
                command: SegmentsCommand::Refresh(args),
            } => crate::crm::segments::cli::refresh(&settings, args).await,
        }
    });
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    };
    // The runtime is gone, so every span has ended; what the exporter still holds goes out now.
    drop(runtime);
    telemetry.shutdown();
    code
}

fn fail(error: &anyhow::Error) -> ExitCode {
    tracing::error!(error = %format!("{error:#}"), "concierge failed");
    eprintln!("concierge: {error:#}");
    ExitCode::FAILURE
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await?;
    tracing::info!("migrations applied");
    eprintln!("migrations applied");
    Ok(())
}

async fn seed(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await?;
    let report = crate::seed::run(&pool, settings).await?;
    eprintln!("{report}");
    Ok(())
}

async fn seed_crm(settings: &Settings, args: SeedCrm) -> anyhow::Result<()> {
    if settings.environment == crate::config::Environment::Production {
        anyhow::bail!("seed crm loads synthetic people; it refuses to run in production");
    }
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await?;
    let plan = crate::crm::seed::Plan {
        brand: args.brand,
        profiles: args.profiles,
        activities: args.activities,
        seed: args.seed,
        chunk: args.chunk,
        jobs: args.jobs,
        vacuum: !args.no_vacuum,
    };
    let progress = indicatif::ProgressBar::new(plan.profiles).with_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} profiles ({per_sec}, eta {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let report = crate::crm::seed::run(&pool, &plan, &progress).await;
    progress.finish_and_clear();
    eprintln!("{}", report?);
    Ok(())
}

pub fn build_state(settings: Settings, jobs_enabled: bool) -> anyhow::Result<AppState> {
    use crate::integrations::{freebit, messaging, salesforce, whmcs};
    let db = db::pool(&settings.database)?;
    let cache = Cache::new(&settings.redis)?;
    let whmcs = whmcs::WhmcsClient::new(&settings.providers)?;
    let salesforce = salesforce::SalesforceClient::new(&settings.providers)?;
    let freebit = freebit::FreebitClient::new(&settings.providers)?;
    let messaging = messaging::MessagingClient::new(&settings.providers)?;

    // One handle per context, holding what its services and jobs need.
    let catalog =
        crate::catalog::Catalog::new(&settings.catalog, salesforce.clone(), cache.clone());
    let crm = crate::crm::Crm::new(db.clone(), &settings)?;
    let messages = crate::crm::messages::Messages::new(crm.clone(), cache.clone(), &settings)?;
    let customers = crate::customers::Customers::new(
        db.clone(),
        &settings.jobs,
        whmcs.clone(),
        salesforce.clone(),
    );
    let brand_events =
        crate::brand_events::BrandEvents::new(db.clone(), messages.clone(), &settings);
    let clienteling = crate::clienteling::Clienteling::new(db.clone(), salesforce.clone())
        .with_catalogue(crate::clienteling::catalogue::Catalogue::new(
            db.clone(),
            salesforce.clone(),
            settings.jobs.clone(),
            settings.clienteling.catalogue.clone(),
        ))
        .with_products(std::sync::Arc::new(
            crate::clienteling::catalogue::CatalogueProducts::new(db.clone()),
        ));
    Ok(AppState {
        auth: crate::auth::AuthService::new(
            &settings.auth,
            db.clone(),
            cache.clone(),
            messaging.clone(),
        )?,
        customers: customers.clone(),
        billing: crate::billing::Billing::new(&settings.billing, whmcs.clone(), cache.clone()),
        orders: crate::orders::Orders::new(
            db.clone(),
            &settings.jobs,
            salesforce.clone(),
            whmcs.clone(),
            freebit.clone(),
            catalog.clone(),
        ),
        catalog,
        subscriptions: crate::subscriptions::Subscriptions::new(
            whmcs.clone(),
            freebit,
            cache.clone(),
            db.clone(),
            settings.subscriptions.clone(),
            settings.jobs.clone(),
        ),
        support: crate::support::Support::new(db.clone(), salesforce.clone()),
        crm,
        messages,
        social: crate::social::Social::new(
            db.clone(),
            settings.jobs.clone(),
            settings.social.clone(),
            &settings.providers,
        )?,
        privacy: crate::privacy::Privacy::new(
            db.clone(),
            settings.jobs.clone(),
            settings.privacy.clone(),
            &settings.server.public_url,
            crate::privacy::parts::standard(&db, &customers),
            crate::privacy::Eraser {
                clienteling: clienteling.clone(),
                salesforce: salesforce.clone(),
                whmcs: whmcs.clone(),
                messaging: messaging.clone(),
                contact_erasure: settings.crm.erasure.salesforce_contact,
            },
        ),
        clienteling,
        brand_events,
        cache,
        db,
        jobs: JobsStatus::new(jobs_enabled),
        settings,
    })
}

/// The job runner every process with jobs enabled runs: the foundation's housekeeping and outbox dispatcher,
/// then every context's queues, schedules and subscribers. A new context adds one line.
pub fn build_runner(state: &AppState) -> anyhow::Result<Runner> {
    let settings = &state.settings;
    let pool = state.db.clone();
    let retention = settings.outbox.retention_days;
    let sink = RedisStreamSink::new(
        state.cache.clone(),
        &settings.outbox.redis_stream,
        settings.outbox.stream_max_len,
    );
    // The CRM reads the portal's facts after the stream has them (a CRM failure retries both: at least once).
    let sink = (sink, crate::crm::events::PortalFeed::new(state.crm.clone()));
    // Interactions become CRM activities the same way.
    let sink = (
        sink,
        crate::clienteling::interactions::activity::InteractionFeed::new(state.crm.clone()),
    );
    // Guests' invitations, RSVPs and check-ins too.
    let sink = (
        sink,
        crate::brand_events::EventsFeed::new(state.crm.clone()),
    );
    // Segment entries enroll profiles in journeys.
    let sink = (
        sink,
        crate::crm::journeys::segment_feed(&state.crm, settings),
    );
    let dispatcher = Dispatcher::new(state.db.clone(), sink, settings.outbox.clone());
    let runner = Runner::new(state.db.clone(), settings.jobs.clone(), state.jobs.clone())
        .register(move |job, ctx| housekeeping::run(pool.clone(), retention, job, ctx))
        .schedule("housekeeping", &settings.jobs.cron.housekeeping, |tick| {
            housekeeping::Housekeeping {
                scheduled_for: tick,
            }
        })?
        .background(move |shutdown| dispatcher.run(shutdown));
    let runner = crate::auth::jobs(runner, &state.auth)?;
    let runner = crate::customers::jobs(runner, &state.customers)?;
    let runner = crate::billing::jobs(runner, &state.billing)?;
    let runner = crate::catalog::jobs(runner, &state.catalog)?;
    let runner = crate::orders::jobs(runner, &state.orders)?;
    let runner = crate::support::jobs(runner, &state.support)?;
    let runner = crate::crm::jobs(runner, &state.crm)?;
    let runner = crate::crm::campaigns::jobs(runner, state);
    let runner = crate::crm::journeys::jobs(runner, &state.crm, &state.messages, settings)?;
    let runner = crate::social::jobs(runner, &state.social)?;
    let runner = crate::clienteling::jobs(runner, &state.clienteling);
    let runner = crate::privacy::jobs(runner, &state.privacy)?;
    let runner = crate::brand_events::jobs(runner, &state.brand_events);
    let runner = crate::clienteling::tasks::jobs(
        runner,
        state.clienteling.db(),
        &settings.clienteling.tasks,
    )?;
    let runner = match state.clienteling.catalogue() {
        Some(catalogue) => crate::clienteling::catalogue::jobs(runner, catalogue)?,
        None => runner,
    };
    crate::subscriptions::jobs(runner, &state.subscriptions)
}

/// Runs the API and/or the job runner until SIGTERM or SIGINT, then drains both.
async fn serve(settings: Settings, jobs_enabled: bool, http_enabled: bool) -> anyhow::Result<()> {
    let state = build_state(settings, jobs_enabled)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let app = if http_enabled {
        let app = Application::build(state.clone())?;
        tracing::info!(
            port = app.port(),
            "listening on http://{}:{}",
            state.settings.server.host,
            app.port()
        );
        if let Some(port) = app.metrics_port() {
            tracing::info!(port, listen = %state.settings.server.metrics_listen, "serving /metrics");
        }
        Some(app)
    } else {
        None
    };
    // A worker has no API, but its queues and outbox are what its metrics are about.
    let worker_metrics = match &app {
        Some(_) => None,
        None => MetricsListener::bind(&state)?.map(|metrics| {
            tracing::info!(port = metrics.port(), listen = %state.settings.server.metrics_listen, "serving /metrics");
            let mut shutdown = shutdown_rx.clone();
            tokio::spawn(metrics.run_until(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            }))
        }),
    };
    let server_handle = app.as_ref().map(Application::handle);
    let server = tokio::spawn(async move {
        match app {
            Some(app) => app.run_until_stopped().await,
            None => Ok(()),
        }
    });

    // Migrations run beside the server: readiness answers 503 until they are in, and the job runner waits.
    let background = {
        let state = state.clone();
        let shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            if !migrate_with_retry(&state, shutdown.clone()).await {
                return Ok(());
            }
            if jobs_enabled {
                build_runner(&state)?.run(shutdown).await
            } else {
                Ok(())
            }
        })
    };

    wait_for_signal().await;
    tracing::info!("shutting down: draining requests and jobs");
    let _ = shutdown_tx.send(true);
    if let Some(handle) = server_handle {
        handle.stop(true).await;
    }
    server.await??;
    background.await??;
    if let Some(metrics) = worker_metrics {
        metrics.await?;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn migrate_with_retry(state: &AppState, mut shutdown: watch::Receiver<bool>) -> bool {
    if !state.settings.database.migrate_on_start {
        return true;
    }
    let mut delay = Duration::from_millis(500);
    loop {
        match db::migrate(&state.db).await {
            Ok(()) => {
                tracing::info!("migrations applied");
                return true;
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), ?delay, "migrations failed; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => delay = (delay * 2).min(Duration::from_secs(10)),
            _ = shutdown.wait_for(|stop| *stop) => return false,
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
