//! What the trace tests need: an in-process OTLP/HTTP receiver that decodes what it is sent, and `concierge
//! serve` as a child process (the tracing subscriber is global, so an exporting app needs a process of its
//! own), pointed at a test app's database, Redis and sandbox.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use secrecy::ExposeSecret;

use super::{TestApp, config_dir};

/// One exported span, decoded.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: i32,
    pub span: Span,
}

pub const KIND_SERVER: i32 = 2;
pub const KIND_CLIENT: i32 = 3;
pub const KIND_PRODUCER: i32 = 4;
pub const KIND_CONSUMER: i32 = 5;

impl ExportedSpan {
    /// The attribute `key` as text (numbers and booleans rendered), if present.
    pub fn attribute(&self, key: &str) -> Option<String> {
        let value = self
            .span
            .attributes
            .iter()
            .find(|attribute| attribute.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()?;
        Some(match value {
            AnyValue::StringValue(text) => text.clone(),
            AnyValue::IntValue(number) => number.to_string(),
            AnyValue::BoolValue(flag) => flag.to_string(),
            AnyValue::DoubleValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
    }

    /// Whether the span's status is an error.
    pub fn is_error(&self) -> bool {
        self.span
            .status
            .as_ref()
            .is_some_and(|status| status.code == 2)
    }
}

/// One line per span (name, kind, trace, span, parent), for assertion messages.
pub fn summary(spans: &[ExportedSpan]) -> String {
    spans
        .iter()
        .map(|span| {
            format!(
                "{} (kind {}) trace {} span {} parent {}",
                span.name, span.kind, span.trace_id, span.span_id, span.parent_span_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Default)]
struct Received {
    requests: usize,
    spans: Vec<ExportedSpan>,
}

/// Answers `POST /v1/traces` as a collector would, keeping every span it decodes.
pub struct OtlpReceiver {
    pub url: String,
    received: Arc<Mutex<Received>>,
    handle: actix_web::dev::ServerHandle,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver port");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Received::default()));
        let state = web::Data::new(Arc::clone(&received));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .route("/v1/traces", web::post().to(export))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("receiver listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            received,
            handle,
        }
    }

    /// How many export requests arrived (decodable or not).
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.lock().spans.clone()
    }

    /// The spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ExportedSpan> {
        self.spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

async fn export(received: web::Data<Arc<Mutex<Received>>>, body: web::Bytes) -> HttpResponse {
    let mut received = received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    received.requests += 1;
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return HttpResponse::BadRequest().finish();
    };
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            for span in scope.spans {
                received.spans.push(ExportedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    kind: span.kind,
                    span,
                });
            }
        }
    }
    // An empty ExportTraceServiceResponse is an empty protobuf message.
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `concierge serve` (API and jobs) as a child process, SIGKILLed and reaped when dropped.
pub struct ServeProcess {
    pub address: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ServeProcess {
    /// Serves against `app`'s database, Redis and sandbox, with `env` added (`CONCIERGE__…`, `OTEL_…`).
    pub async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let settings = &app.state.settings;
        let sandbox = &app.sandbox().url;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = std::env::temp_dir().join(format!(
            "concierge-serve-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let output = File::create(&log).expect("serve log");
        let errors = output.try_clone().expect("serve log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_concierge"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONCIERGE_CONFIG_DIR", config_dir())
            .env("CONCIERGE_ENV", "test")
            .env("RUST_LOG", "info")
            .env("CONCIERGE__SERVER__PORT", port.to_string())
            .env(
                "CONCIERGE__DATABASE__URL",
                settings.database.url.expose_secret(),
            )
            .env("CONCIERGE__REDIS__URL", settings.redis.url.expose_secret())
            .env("CONCIERGE__REDIS__KEY_PREFIX", &settings.redis.key_prefix)
            .env("CONCIERGE__PROVIDERS__SALESFORCE__LOGIN_URL", sandbox)
            .env("CONCIERGE__PROVIDERS__SALESFORCE__AUDIENCE", sandbox)
            .env("CONCIERGE__PROVIDERS__WHMCS__BASE_URL", sandbox)
            .env("CONCIERGE__PROVIDERS__FREEBIT__BASE_URL", sandbox)
            .env(
                "CONCIERGE__PROVIDERS__MESSAGING__BASE_URL",
                format!("{sandbox}/messaging"),
            );
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(errors))
            .spawn()
            .expect("concierge serve");
        let process = Self {
            address: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            log,
        };
        process.wait_until_live().await;
        process
    }

    async fn wait_until_live(&self) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let live = client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200);
            if live {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("concierge serve did not become ready: {}", self.log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as an orchestrator stops a replica, then waits for the exit: the graceful shutdown is
    /// what sends the traces still buffered.
    pub async fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "SIGTERM");
        for _ in 0..300 {
            if let Some(status) = child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "serve exited with {status}: {}",
                    self.log()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve did not stop on SIGTERM: {}", self.log());
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
