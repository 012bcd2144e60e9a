//! `concierge-sandbox`: a local stand-in for Salesforce, WHMCS, Freebit, the messaging service, Facebook, Instagram and X that speaks
//! their wire formats, with seeded demo data, a request log and fault injection, so the real clients are
//! exercised end to end (like LocalStack for AWS). Control API under `/__sandbox/`.

pub mod config;
mod control;
pub mod demo;
pub mod faults;
pub mod freebit;
pub mod messaging;
mod middleware;
pub mod salesforce;
pub mod social;
pub mod whmcs;

use std::net::TcpListener;
use std::sync::Mutex;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use serde::Serialize;

pub use config::Config;
pub use faults::{Fault, Faults, Phase, System};

/// Everything the sandbox holds. Each system keeps its records behind its own lock.
pub struct SandboxState {
    pub config: Config,
    pub faults: Faults,
    pub log: RequestLog,
    pub salesforce: salesforce::State,
    pub whmcs: whmcs::State,
    pub freebit: freebit::State,
    pub messaging: messaging::State,
    pub social: social::State,
}

impl SandboxState {
    pub fn new(config: Config) -> Self {
        Self {
            salesforce: salesforce::State::seeded(),
            whmcs: whmcs::State::seeded(),
            freebit: freebit::State::seeded(),
            messaging: messaging::State::seeded(),
            social: social::State::seeded(),
            faults: Faults::default(),
            log: RequestLog::default(),
            config,
        }
    }

    /// Back to the seeded demo data, no faults, an empty request log.
    pub fn reset(&self) {
        self.salesforce.reset();
        self.whmcs.reset();
        self.freebit.reset();
        self.messaging.reset();
        self.social.reset();
        self.faults.clear(None);
        self.log.clear();
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub system: System,
    pub method: String,
    pub path: String,
    /// Path, query and (for WHMCS) the `action`: what fault `operation` filters match against.
    pub operation: String,
    /// The W3C trace context the caller sent, as received, so tests can follow a trace into the provider.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RecordedRequest>>,
}

impl RequestLog {
    pub fn record(&self, request: RecordedRequest) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(request);
        }
    }

    pub fn list(&self, system: Option<System>) -> Vec<RecordedRequest> {
        self.entries
            .lock()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|r| system.is_none_or(|s| r.system == s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

pub struct Sandbox {
    port: u16,
    server: Server,
    state: web::Data<SandboxState>,
}

impl Sandbox {
    /// Binds `listen` (use port 0 in tests) and builds the server; `run_until_stopped` drives it.
    pub fn build(config: Config, listen: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .map_err(|e| anyhow::anyhow!("sandbox cannot listen on {listen}: {e}"))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(SandboxState::new(config));
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(middleware::faults_and_log))
                .app_data(app_state.clone())
                .app_data(web::FormConfig::default().limit(1 << 20))
                .app_data(web::JsonConfig::default().limit(4 << 20))
                .configure(control::routes)
                .configure(salesforce::routes)
                .configure(whmcs::routes)
                .configure(freebit::routes)
                .configure(messaging::routes)
                .configure(social::routes)
        })
        .workers(2)
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(1)
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<SandboxState> {
        self.state.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
