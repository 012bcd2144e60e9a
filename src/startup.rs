//! Builds the HTTP server: `Application::build` binds the listener (port 0 in tests) and exposes the port.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compat, from_fn};
use actix_web::{App, HttpServer, web};

use crate::errors;
use crate::http::{catch_panic, cors, observe, security_headers};
use crate::observability;
use crate::operations::{self, OpenApiJson};
use crate::routes;
use crate::state::AppState;

/// Response headers defined by contexts that browsers must be allowed to read (CORS `expose-headers`).
const EXPOSED_CONTEXT_HEADERS: &[&str] = &[crate::catalog::STALE_HEADER];

pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<MetricsListener>,
}

/// `/metrics` on its own listener (`server.metrics_listen`), with the task that refreshes its gauges. The API
/// process runs it beside the API ([`Application`]); a `worker` process runs it alone.
pub struct MetricsListener {
    port: u16,
    server: Server,
    refresh: Duration,
    state: AppState,
}

impl MetricsListener {
    /// Binds the metrics listener, unless `server.metrics_listen` is empty.
    pub fn bind(state: &AppState) -> anyhow::Result<Option<Self>> {
        let Some(address) = state.settings.server.metrics_address() else {
            return Ok(None);
        };
        let listener = TcpListener::bind(address)
            .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {address}: {e}"))?;
        Ok(Some(Self {
            port: listener.local_addr()?.port(),
            server: observability::metrics_server(listener, observability::metrics_handle()?)?,
            refresh: Duration::from_millis(state.settings.server.metrics_refresh_ms),
            state: state.clone(),
        }))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves and refreshes until `stop` completes, then stops both.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let refresh = tokio::spawn(observability::refresh_gauges(
            self.state.db.clone(),
            self.state.cache.clone(),
            self.refresh,
            stopped,
        ));
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        stop.await;
        let _ = stopping.send(true);
        handle.stop(false).await;
        let _ = refresh.await;
        let _ = server.await;
    }
}

impl Application {
    pub fn build(state: AppState) -> anyhow::Result<Self> {
        Self::build_with_routes(state, |_| {})
    }

    /// Like [`Application::build`], with extra routes mounted beside the real ones. Tests use it to probe
    /// cross-cutting behaviour (extractor errors, timeouts) through the app's real middleware and config.
    pub fn build_with_routes(
        state: AppState,
        extra_routes: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(state.settings.bind_address()).map_err(|e| {
            anyhow::anyhow!("cannot listen on {}: {e}", state.settings.bind_address())
        })?;
        let port = listener.local_addr()?.port();
        let metrics = MetricsListener::bind(&state)?;
        let server = build_server(listener, state, Arc::new(extra_routes))?;
        Ok(Self {
            port,
            server,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port, when `server.metrics_listen` names one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|metrics| metrics.port)
    }

    /// Completes when the server has stopped (after a graceful drain on SIGTERM/SIGINT or `handle().stop`);
    /// the metrics listener and its refresh stop with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some(metrics) = self.metrics else {
            return self.server.await;
        };
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let metrics = tokio::spawn(metrics.run_until(async {
            let _ = finished.await;
        }));
        let result = self.server.await;
        let _ = done.send(());
        let _ = metrics.await;
        result
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

fn build_server(
    listener: TcpListener,
    state: AppState,
    extra_routes: ExtraRoutes,
) -> anyhow::Result<Server> {
    // The recorder must exist before the first request records into it, metrics listener or not.
    observability::metrics_handle()?;
    let openapi = web::Data::new(OpenApiJson(Arc::new(crate::openapi::to_pretty_json()?)));
    let swagger = web::Data::new(operations::swagger_config(
        state.settings.environment != crate::config::Environment::Production,
    ));
    let server_settings = state.settings.server.clone();
    let timeout = Duration::from_millis(server_settings.request_timeout_ms);
    let body_limit = server_settings.body_limit_bytes;
    let origins = server_settings.cors_allowed_origins.clone();
    let state = web::Data::new(state);

    let mut server = HttpServer::new(move || {
        App::new()
            // Registered last = runs first: CORS answers preflights inside the request span. The panic guard is
            // innermost, so its 500 still gets CORS and security headers, the request id, and the http metrics.
            .wrap(from_fn(catch_panic))
            .wrap(Compat::new(cors(&origins, EXPOSED_CONTEXT_HEADERS)))
            .wrap(security_headers())
            .wrap(from_fn(move |req, next| observe(req, next, timeout)))
            .app_data(state.clone())
            .app_data(openapi.clone())
            .app_data(swagger.clone())
            .app_data(errors::json_config(body_limit))
            .app_data(errors::payload_config(body_limit))
            .app_data(errors::path_config())
            .app_data(errors::query_config())
            .configure(routes::configure)
            .configure(|cfg| extra_routes(cfg))
            .default_service(web::to(errors::default_not_found))
    })
    .listen(listener)?
    .shutdown_timeout(server_settings.shutdown_timeout_secs)
    // Handled by the caller so the job runner shuts down in the same step.
    .disable_signals();
    if let Some(workers) = server_settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
