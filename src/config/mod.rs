//! Layered configuration: `config/default.toml` → `config/{environment}.toml` → `CONCIERGE__SECTION__KEY`
//! environment variables. Unknown keys are rejected so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod safety;

pub use safety::{is_committed_secret, secrets};

pub const ENV_PREFIX: &str = "CONCIERGE__";
pub const ENVIRONMENT_VAR: &str = "CONCIERGE_ENV";
pub const CONFIG_DIR_VAR: &str = "CONCIERGE_CONFIG_DIR";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub telemetry: TelemetrySettings,
    pub jobs: JobSettings,
    pub outbox: OutboxSettings,
    pub providers: ProviderSettings,
    /// The `[sandbox]` section configures `concierge-sandbox` (its own crate and binary); the product only
    /// tolerates it, so one config folder serves both in development and tests.
    #[serde(default)]
    pub sandbox: serde::de::IgnoredAny,
    pub auth: AuthSettings,
    pub catalog: CatalogSettings,
    pub billing: BillingSettings,
    pub brand_events: BrandEventSettings,
    pub subscriptions: SubscriptionSettings,
    pub portal: PortalSettings,
    pub crm: CrmSettings,
    pub social: SocialSettings,
    pub clienteling: ClientelingSettings,
    pub privacy: PrivacySettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl std::str::FromStr for Environment {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(ConfigError(format!(
                "{ENVIRONMENT_VAR}: unknown environment `{other}` (expected development, test or production)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Public base URL, used in links we hand out (problem types, reset links).
    pub public_url: String,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    pub workers: Option<usize>,
    /// Portal origins allowed to call the API with credentials; nothing else is.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` entries are believed (CIDRs: the load balancer, the portal's Next.js
    /// server). The client is the right-most address not in this list; a request from any other peer is
    /// taken at its peer address and its header ignored. Empty: nothing is trusted.
    pub trusted_proxies: Vec<crate::types::Cidr>,
    /// Where `/metrics` is served, apart from the API (`ip:port`, loopback by default); empty for nowhere.
    pub metrics_listen: String,
    /// How often the gauges that need a query (queue depths, outbox backlog) and the pool gauges are
    /// refreshed, in the background; a scrape only renders what was last recorded.
    pub metrics_refresh_ms: u64,
}

impl ServerSettings {
    /// The metrics listener's address, unless metrics are not served.
    pub fn metrics_address(&self) -> Option<&str> {
        let address = self.metrics_listen.trim();
        (!address.is_empty()).then_some(address)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
    pub pool_size: usize,
    /// Upper bound on any single Redis round trip, so a sick Redis never stalls a request for long.
    pub timeout_ms: u64,
    /// Prefix of every key we write, so several deployments (or test runs) can share one Redis.
    pub key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` wins when set.
    pub filter: String,
    /// Base URL of an OTLP/HTTP collector (`http://collector:4318`; traces go to `{base}/v1/traces`). Empty:
    /// no traces, and no tracing layer at all. `OTEL_EXPORTER_OTLP_*` endpoint variables never turn it on.
    pub otlp_endpoint: String,
}

impl TelemetrySettings {
    /// The traces URL, when exporting is on.
    pub fn otlp_traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.trim().trim_end_matches('/');
        (!base.is_empty()).then(|| format!("{base}/v1/traces"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub poll_interval_ms: u64,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How long a worker waits before restarting after its backend failed (database blip).
    pub restart_delay_ms: u64,
    /// How often a worker tells the queue it is alive (its lease on the jobs it runs).
    pub heartbeat_interval_ms: u64,
    /// A worker silent for this many intervals is dead: another worker takes its running jobs over.
    pub missed_heartbeats: u32,
    pub cron: CronSettings,
}

/// Cron expressions (with a seconds field) for the built-in scheduled jobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronSettings {
    pub housekeeping: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    pub poll_interval_ms: u64,
    pub batch_size: i64,
    pub max_attempts: i32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Redis stream every event is appended to.
    pub redis_stream: String,
    pub stream_max_len: usize,
    /// Delivered rows are kept this long for audit, then pruned by housekeeping.
    pub retention_days: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// How long the catalog read from Salesforce is served from Redis (5–15 minutes).
    pub cache_ttl_secs: u64,
    /// Cron expression (with seconds) of the scheduled refresh from Salesforce.
    pub sync_cron: String,
    /// Name of the Salesforce price book whose prices the portal shows.
    pub pricebook_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSettings {
    /// A top-up's price per GB (1024 MB) in the client's currency, charged in WHMCS before Freebit adds it;
    /// a part of a GB costs its share, rounded up to the currency's hundredth.
    pub top_up_price_per_gb: u32,
    /// At most this much data is topped up per line per calendar month (UTC), paid or being paid.
    pub top_up_monthly_cap_mb: u32,
    /// How long a top-up request waits for the charge and the network before answering that it is still
    /// being processed (the same Idempotency-Key then picks the same top-up up again).
    pub top_up_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmSettings {
    pub identity: IdentitySettings,
    pub scores: ScoreSettings,
    pub segments: SegmentSettings,
    pub messages: MessageSettings,
    pub campaigns: CampaignSettings,
    #[serde(default)]
    pub journeys: JourneySettings,
    #[serde(default)]
    pub ingest: IngestSettings,
    #[serde(default)]
    pub erasure: ErasureSettings,
}

/// How an erasure reaches the linked systems (`customers::erasure`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureSettings {
    /// What becomes of the person's Salesforce Contact: `anonymise` (PATCH: the record and what hangs off it,
    /// Cases and Orders, stay for the books) or `delete` (DELETE).
    #[serde(default)]
    pub salesforce_contact: ContactErasure,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactErasure {
    #[default]
    Anonymise,
    Delete,
}

/// Single events applied in shared batches (`crm::events`, coalesce.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// The most single events one shared batch takes.
    pub coalesce_max_batch: usize,
    /// Batches of one lane (brand and source) in flight at once.
    pub coalesce_workers: usize,
    /// Single events a lane holds waiting; beyond, the API answers 503 with `Retry-After`.
    pub coalesce_queue: usize,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            coalesce_max_batch: 100,
            coalesce_workers: 4,
            coalesce_queue: 4000,
        }
    }
}

/// Campaigns' freeze and delivery jobs (`crm::campaigns`, docs/crm/campaigns.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    /// The highest throttle a campaign may ask for (messages per second).
    pub max_throttle_per_sec: f64,
    /// The most retries a campaign may allow a recipient after its first attempt.
    pub max_retry_limit: u32,
    /// Recipients one delivery run claims at a time.
    pub batch_size: u32,
    /// Sends of one delivery run in flight at once.
    pub concurrency: u32,
    /// How long a claimed batch stays the run's before another run may take it over (a crashed replica).
    pub lease_secs: u32,
    /// A retry of a recipient waits base·2^(attempt-1), at most max, or the provider's Retry-After if longer.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// A delivery run waits for the throttle in-line up to this long; a longer wait ends the run and schedules
    /// the next one then.
    pub max_inline_wait_ms: u64,
    /// Batches one delivery run works through before it hands over to a fresh job (fairness across campaigns).
    pub batches_per_run: u32,
}

/// Journeys (`crm::journeys`, docs/crm/journeys.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneySettings {
    /// Multiplies every `wait` step's duration (not waits until a time of day): 1 in production; the
    /// development demo and tests shorten two days to seconds with it.
    pub time_scale: f64,
}

impl Default for JourneySettings {
    fn default() -> Self {
        Self { time_scale: 1.0 }
    }
}

/// The send path of messages (`crm::messages`, docs/crm/messages.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSettings {
    /// Local time (`HH:MM`, the profile's or the brand's zone) from which marketing messages wait…
    pub quiet_hours_start: String,
    /// …until this local time (a window past midnight when it is earlier than the start).
    pub quiet_hours_end: String,
    /// Default frequency caps by purpose (`marketing`, `outreach`, `events`, `service`); a purpose not named
    /// has none. A brand's own caps (`crm_message_caps`) replace these.
    pub caps: std::collections::BTreeMap<String, FrequencyCap>,
    /// How old a delivery receipt's signature timestamp may be (either way), against replays.
    pub webhook_tolerance_secs: u64,
    pub throttle: ThrottleSettings,
}

/// At most `max_messages` per profile, channel and purpose in any `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max_messages: u32,
    pub window_secs: u64,
}

/// The shared, adaptive token bucket of delivery jobs (`crm::messages::Throttle`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// The rate never adapts below this (messages per second).
    pub min_rate: f64,
    /// After a 429 halved the rate, it grows back by this much per second (additive increase).
    pub recover_per_sec: f64,
    /// The bucket holds at most this many seconds of tokens (the burst).
    pub burst_secs: f64,
    /// Without Redis, each process takes this share of the rate on its own (replicas cannot share).
    pub fallback_share: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientelingSettings {
    pub catalogue: CatalogueSettings,
    pub tasks: TaskSettings,
    pub view360: View360Settings,
}

/// Advisors' tasks (`clienteling::tasks`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSettings {
    /// Cron expression (with seconds, UTC) of the reminder that marks tasks due and notifies their assignee.
    pub reminder_cron: String,
}

/// The client 360° view (`clienteling::view360`): its parts are fetched concurrently, each bounded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View360Settings {
    /// Each part has this long (its wait for a connection included); then it is `degraded` (`timeout`).
    pub part_timeout_ms: u64,
    /// At most this many of one page's parts hold a database connection at once, so one page never takes
    /// the whole pool.
    pub connections_per_page: usize,
    /// Benchmarks only (refused in production): latency added to a part before it fetches, by part name,
    /// standing in for a remote source (`scripts/bench/run view360`).
    #[serde(default)]
    pub simulated_latency_ms: std::collections::BTreeMap<String, u64>,
}

/// The brands' product catalogues synced from Salesforce (`clienteling::catalogue`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSettings {
    /// Cron expression (with seconds) of the nightly sync, UTC.
    pub sync_cron: String,
    /// The brands (slugs) the nightly sync covers; a manager may sync any brand of theirs on demand.
    pub brands: Vec<String>,
}

/// The nightly recomputation of every profile's scores (`crm::scores::nightly`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSettings {
    /// Cron expression (with seconds).
    pub nightly_cron: String,
    /// Profiles recomputed per transaction.
    pub nightly_chunk: i64,
}

/// Segments (see `crm::segments`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSettings {
    /// When time-based rules ("in the last 30 days") are re-evaluated for everyone (cron, UTC).
    pub schedule_cron: String,
    /// The statement timeout of a preview (count and sample).
    pub preview_timeout_ms: u64,
    /// The statement timeout of one segment's full refresh (its own, longer than a preview's and than the
    /// pool's default: it computes and writes a whole membership).
    pub refresh_timeout_ms: u64,
}

/// Which identifiers decide that two profiles are one person (see `crm::identifiers::Policy`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// Kinds that never merge profiles: they match a profile only when no other identifier does (a phone is
    /// shared by families).
    pub weak_kinds: Vec<String>,
    /// Identifiers a profile may hold per kind, unless `max_per_kind` names the kind.
    pub default_max_per_kind: u16,
    pub max_per_kind: std::collections::BTreeMap<String, u16>,
    /// Values that never identify anyone (compared after normalisation, case-insensitively).
    pub blocked_values: Vec<String>,
    /// Regular expressions; a normalised value matching one never identifies anyone.
    pub blocked_patterns: Vec<String>,
    /// Key of the suppression list's HMAC digests (erased people's identifiers): a random secret of at
    /// least 32 characters, never rotated without re-keying `crm_suppressions`.
    pub suppression_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// The slug of the brand the portal's customers belong to: their CRM profiles live in it.
    pub brand: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// Secret the invoice list's cursors are signed with (base64, at least 32 bytes). Its own key, so
    /// rotating it only invalidates cursors in flight, and no other secret signs what customers can see.
    pub cursor_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandEventSettings {
    /// Secret the RSVP links of event invitations are signed with (base64, at least 32 bytes). Its own key:
    /// rotating it voids the links in flight and nothing else.
    pub rsvp_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `iss` and `aud` of access tokens.
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    /// A session unused for this long ends.
    pub refresh_idle_timeout_secs: u64,
    /// A session ends this long after login, however active.
    pub refresh_absolute_lifetime_secs: u64,
    /// A rotated refresh token presented again within this window answers the family's current pair (two
    /// tabs, a lost response) instead of being treated as theft.
    pub reuse_grace_secs: u64,
    pub refresh_cookie_name: String,
    /// Secret from which refresh tokens are derived (base64, at least 32 bytes). Only hashes are stored.
    pub refresh_token_key: SecretString,
    /// Ed25519 private keys (PKCS#8 PEM). The first signs; all verify, so keys can be rotated.
    pub signing_keys: Vec<SigningKeySettings>,
    pub password_reset_ttl_secs: u64,
    /// The portal page a reset link points to; `?token=` is appended.
    pub password_reset_url: String,
    /// How long an email verification link stays usable.
    pub email_verification_ttl_secs: u64,
    /// The portal page a verification link points to; `?token=` is appended. The page posts the token to
    /// `POST /api/v1/auth/email/verify` while signed in.
    pub email_verification_url: String,
    /// At most one "someone tried to register with your address" message per account in this interval, so
    /// register cannot be used to flood a customer's inbox.
    pub registration_notice_interval_secs: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password verifications at sign-in computed at once; 0 = one fewer than the CPU cores (at least 1),
    /// so logins can never take every core from the request handlers.
    pub max_concurrent_password_hashes: usize,
    /// Hashes for everything else (register, reset, password change, staff creation) at once: a pool of
    /// its own, so a flood there cannot take the sign-in pool's permits.
    pub max_concurrent_other_password_hashes: usize,
    pub login_failures_per_account: u32,
    pub login_failures_per_ip: u32,
    pub lockout_base_secs: u64,
    pub lockout_max_secs: u64,
    /// Failures older than this are forgotten.
    pub failure_window_secs: u64,
    /// Password verifications of one account allowed at once (across replicas); further attempts are
    /// refused with 429 until one finishes, so a burst queues no work behind the hashing permits.
    pub login_verifications_in_flight: u32,
    /// Per-address and per-account limits of the account routes.
    pub limits: ActionLimitSettings,
    /// When the auth records' prune runs (sec min hour day-of-month month day-of-week).
    pub retention_cron: String,
    /// Ended (expired, idle or revoked) sessions are kept this long, then deleted with their refresh tokens.
    pub ended_session_retention_days: u32,
    /// Audit rows older than this are deleted.
    pub audit_retention_days: u32,
}

/// One limit per account route; each counts requests per client address and per account in a window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionLimitSettings {
    pub register: ActionLimit,
    pub forgot_password: ActionLimit,
    pub reset_password: ActionLimit,
    pub password_change: ActionLimit,
    pub resend_verification: ActionLimit,
    /// Proofs of ownership with WHMCS credentials: each is a password guess against WHMCS.
    pub whmcs_proof: ActionLimit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionLimit {
    pub per_ip: u32,
    pub per_account: u32,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeySettings {
    pub kid: String,
    pub private_key_pem: SecretString,
}

/// Transport behaviour shared by every provider client, then each system's endpoint and credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: usize,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Consecutive transient failures after which calls fail fast for `breaker_cooldown_ms`.
    pub breaker_failure_threshold: u32,
    pub breaker_cooldown_ms: u64,
    pub salesforce: SalesforceSettings,
    pub whmcs: WhmcsSettings,
    pub freebit: FreebitSettings,
    pub messaging: MessagingSettings,
    pub facebook: GraphSettings,
    pub instagram: GraphSettings,
    pub x: XSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceAuth {
    ClientCredentials,
    JwtBearer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    /// Login / My Domain host the token is requested from.
    pub login_url: String,
    pub api_version: String,
    pub auth: SalesforceAuth,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// JWT bearer flow: the integration user and the RS256 private key (PEM).
    pub username: Option<String>,
    pub private_key_pem: Option<SecretString>,
    /// JWT bearer flow: the `aud` claim (the login host).
    pub audience: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhmcsSettings {
    /// Base URL; the client posts to `{base_url}/includes/api.php`.
    pub base_url: String,
    pub identifier: String,
    pub secret: SecretString,
    pub access_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreebitSettings {
    /// Base URL; the client posts to `{base_url}/emptool/api/<path>/`.
    pub base_url: String,
    pub oem_id: String,
    pub oem_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    pub base_url: String,
    pub api_key: SecretString,
    /// HMAC-SHA256 key of the service's delivery-receipt webhooks; empty refuses every receipt.
    pub webhook_secret: SecretString,
}

/// A Graph API host (Facebook Pages, Instagram): calls go to `{base_url}/{graph_version}/…`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSettings {
    pub base_url: String,
    pub graph_version: String,
}

/// X API v2: calls go to `{base_url}/2/…`; the OAuth 2.0 client refreshes the accounts' user tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XSettings {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Data-subject requests (`crate::privacy`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// Secret the archives' download links are signed with (base64, at least 32 bytes). Its own key, so
    /// rotating it only invalidates the links in flight.
    pub download_key: SecretString,
    /// How long an export's archive (and its link) stays downloadable.
    pub archive_ttl_secs: u64,
    /// A step that fails is retried with back-off (`retry_base_ms` doubling up to `retry_max_ms`) this many
    /// times; then it fails, and its request with it.
    pub max_step_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// When expired archives are deleted.
    pub purge_cron: String,
}

/// Social publishing (`crate::social`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialSettings {
    /// AES-256-GCM key of the account tokens at rest: base64 of 32 bytes.
    pub token_key: SecretString,
    pub max_attempts: u32,
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    pub container_poll_ms: u64,
    pub container_timeout_secs: u64,
    pub refresh_margin_secs: u64,
    pub usage_pause_percent: u8,
    pub usage_pause_secs: u64,
    pub limits: SocialLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialLimits {
    pub facebook: PostLimit,
    pub instagram: PostLimit,
    pub x: PostLimit,
}

/// Posts one account may publish in a rolling 24 hours and 15 minutes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostLimit {
    pub per_day: u32,
    pub per_15_min: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads settings the way `concierge` does at startup: from `CONCIERGE_CONFIG_DIR` (default `./config`)
    /// for the environment named by `CONCIERGE_ENV` (default `development`), then the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let environment: Environment = std::env::var(ENVIRONMENT_VAR)
            .unwrap_or_else(|_| "development".into())
            .parse()?;
        let dir = std::env::var(CONFIG_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from("config"));
        Self::extract(
            Self::figment(&dir, environment)?.merge(Env::prefixed(ENV_PREFIX).split("__")),
        )
    }

    /// The file layers only (no process environment), so tests can add their own overrides.
    pub fn figment(dir: &Path, environment: Environment) -> Result<Figment, ConfigError> {
        let default = dir.join("default.toml");
        if !default.is_file() {
            return Err(ConfigError(format!(
                "{} not found (set {CONFIG_DIR_VAR} to the folder holding default.toml)",
                default.display()
            )));
        }
        Ok(Figment::new()
            .merge(Toml::file(default))
            .merge(Toml::file(
                dir.join(format!("{}.toml", environment.as_str())),
            ))
            .merge(("environment", environment.as_str())))
    }

    pub fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|error| {
            // figment reports one error per problem; the first names the key, which is what an operator needs.
            let first = error.into_iter().next();
            ConfigError(first.map_or_else(|| "unknown error".to_string(), describe))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("`{key}` {why}")));
        if self.database.url.expose_secret().trim().is_empty() {
            return fail("database.url", "must be set (CONCIERGE__DATABASE__URL)");
        }
        if self.redis.url.expose_secret().trim().is_empty() {
            return fail("redis.url", "must be set (CONCIERGE__REDIS__URL)");
        }
        if self.auth.signing_keys.is_empty() {
            return fail("auth.signing_keys", "must hold at least one key");
        }
        if self.auth.refresh_token_key.expose_secret().trim().len() < 43 {
            return fail(
                "auth.refresh_token_key",
                "must be at least 32 random bytes, base64-encoded",
            );
        }
        if let Err(reason) = crate::crm::identifiers::Policy::from_settings(&self.crm.identity) {
            return fail("crm.identity", &reason);
        }
        if let Some(brand) = self
            .clienteling
            .catalogue
            .brands
            .iter()
            .find(|brand| !crate::brands::is_slug(brand))
        {
            return fail(
                "clienteling.catalogue.brands",
                &format!("`{brand}` is not a brand slug"),
            );
        }
        if let Err((key, why)) =
            crate::clienteling::view360::check_settings(&self.clienteling.view360, self.environment)
        {
            return fail(&key, &why);
        }
        if let Err((key, why)) = crate::crm::campaigns::check_settings(&self.crm.campaigns) {
            return fail(&key, &why);
        }
        if let Err((key, why)) = crate::crm::messages::check_settings(&self.crm.messages) {
            return fail(&key, &why);
        }
        if !(1..=10_000).contains(&self.crm.scores.nightly_chunk) {
            return fail("crm.scores.nightly_chunk", "must be 1–10,000");
        }
        if !crate::brands::is_slug(&self.portal.brand) {
            return fail(
                "portal.brand",
                "must be a brand slug: 1–40 lower-case letters, digits and inner hyphens",
            );
        }
        if self.billing.cursor_key.expose_secret().trim().len() < 43 {
            return fail(
                "billing.cursor_key",
                "must be at least 32 random bytes, base64-encoded",
            );
        }
        if self.privacy.download_key.expose_secret().trim().len() < 43 {
            return fail(
                "privacy.download_key",
                "must be at least 32 random bytes, base64-encoded",
            );
        }
        if self.privacy.archive_ttl_secs == 0 || self.privacy.max_step_attempts == 0 {
            return fail(
                "privacy.archive_ttl_secs",
                "and privacy.max_step_attempts must be greater than zero",
            );
        }
        if self.brand_events.rsvp_key.expose_secret().trim().len() < 43 {
            return fail(
                "brand_events.rsvp_key",
                "must be at least 32 random bytes, base64-encoded",
            );
        }
        if crate::social::TokenCipher::new(&self.social.token_key).is_err() {
            return fail(
                "social.token_key",
                "must be 32 random bytes, base64-encoded",
            );
        }
        if self.auth.argon2_memory_kib < 19 * 1024 || self.auth.argon2_iterations < 2 {
            return fail(
                "auth.argon2_memory_kib",
                "must be at least OWASP's m=19 MiB, t=2",
            );
        }
        if self
            .server
            .trusted_proxies
            .iter()
            .any(|cidr| cidr.prefix_len() < 8)
        {
            // Wider than /8 is no proxy network; `0.0.0.0/1` and `128.0.0.0/1` together are `/0` in disguise.
            return fail(
                "server.trusted_proxies",
                "must list proxy networks of /8 or narrower: trusting (nearly) every address lets any client choose its own",
            );
        }
        if self.auth.email_verification_ttl_secs == 0 {
            return fail(
                "auth.email_verification_ttl_secs",
                "must be greater than zero",
            );
        }
        let endpoint = self.telemetry.otlp_endpoint.trim();
        if !endpoint.is_empty() {
            // The base as written, not the traces URL: `http://` + `/v1/traces` would parse as host `v1`.
            let valid = reqwest::Url::parse(endpoint).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|host| !host.is_empty())
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.username().is_empty()
                    && url.password().is_none()
            });
            if !valid {
                return fail(
                    "telemetry.otlp_endpoint",
                    "must be an http(s) URL without query or credentials, such as http://127.0.0.1:4318, or empty",
                );
            }
        }
        if self.server.body_limit_bytes == 0 {
            return fail("server.body_limit_bytes", "must be greater than zero");
        }
        if self.server.request_timeout_ms == 0 {
            return fail("server.request_timeout_ms", "must be greater than zero");
        }
        if let Some(address) = self.server.metrics_address()
            && address.parse::<std::net::SocketAddr>().is_err()
        {
            return fail(
                "server.metrics_listen",
                "must be an ip:port (e.g. 127.0.0.1:9464), or empty for no metrics listener",
            );
        }
        if self.server.metrics_refresh_ms == 0 {
            return fail("server.metrics_refresh_ms", "must be greater than zero");
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be greater than zero");
        }
        if self.jobs.max_attempts == 0 {
            return fail("jobs.max_attempts", "must be at least 1");
        }
        if self.jobs.heartbeat_interval_ms < 1000 || self.jobs.missed_heartbeats < 2 {
            return fail(
                "jobs.heartbeat_interval_ms",
                "must be at least 1000 ms, with `jobs.missed_heartbeats` at least 2",
            );
        }
        if self.jobs.concurrency == 0 {
            return fail("jobs.concurrency", "must be at least 1");
        }
        if self.subscriptions.top_up_monthly_cap_mb == 0 {
            return fail(
                "subscriptions.top_up_monthly_cap_mb",
                "must be greater than zero",
            );
        }
        if self.subscriptions.top_up_wait_ms == 0 {
            return fail("subscriptions.top_up_wait_ms", "must be greater than zero");
        }
        if self.outbox.batch_size <= 0 {
            return fail("outbox.batch_size", "must be greater than zero");
        }
        for origin in &self.server.cors_allowed_origins {
            if origin == "*" || !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return fail(
                    "server.cors_allowed_origins",
                    "must list explicit http(s) origins (credentials forbid `*`)",
                );
            }
        }
        if let Err(why) = safety::check(self) {
            return Err(ConfigError(why));
        }
        if let Err(error) = self.jobs.cron.housekeeping.parse::<cron::Schedule>() {
            return fail(
                "jobs.cron.housekeeping",
                &format!("is not a valid cron expression: {error}"),
            );
        }
        if let Err(error) = self.auth.retention_cron.parse::<cron::Schedule>() {
            return fail(
                "auth.retention_cron",
                &format!("is not a valid cron expression: {error}"),
            );
        }
        if self.auth.audit_retention_days == 0 {
            return fail("auth.audit_retention_days", "must be at least 1");
        }
        if let Err(error) = self.catalog.sync_cron.parse::<cron::Schedule>() {
            return fail(
                "catalog.sync_cron",
                &format!("is not a valid cron expression: {error}"),
            );
        }
        if let Err(error) = self
            .clienteling
            .catalogue
            .sync_cron
            .parse::<cron::Schedule>()
        {
            return fail(
                "clienteling.catalogue.sync_cron",
                &format!("is not a valid cron expression: {error}"),
            );
        }
        if let Err(error) = self
            .clienteling
            .tasks
            .reminder_cron
            .parse::<cron::Schedule>()
        {
            return fail(
                "clienteling.tasks.reminder_cron",
                &format!("is not a valid cron expression: {error}"),
            );
        }
        if self.catalog.cache_ttl_secs == 0 {
            return fail("catalog.cache_ttl_secs", "must be greater than zero");
        }
        if self.catalog.pricebook_name.trim().is_empty() {
            return fail("catalog.pricebook_name", "must name a price book");
        }
        Ok(())
    }

    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }
}

fn describe(error: figment::Error) -> String {
    use figment::error::Kind;
    // figment's path ends with the offending field for unknown/missing fields; keep only the parents.
    let mut path = error.path.clone();
    let field: Option<&str> = match &error.kind {
        Kind::MissingField(field) => Some(field.as_ref()),
        Kind::UnknownField(field, _) => Some(field.as_str()),
        _ => None,
    };
    if field.is_some_and(|field| path.last().is_some_and(|last| last == field)) {
        path.pop();
    }
    let key = if path.is_empty() {
        None
    } else {
        Some(path.join("."))
    };
    let source = error
        .metadata
        .as_ref()
        .map(|meta| match &meta.source {
            Some(source) => format!(" (from {} {source})", meta.name),
            None => format!(" (from {})", meta.name),
        })
        .unwrap_or_default();
    match (&error.kind, key) {
        (Kind::MissingField(field), Some(key)) => format!("missing key `{key}.{field}`"),
        (Kind::MissingField(field), None) => format!("missing key `{field}`"),
        (Kind::UnknownField(field, _), Some(key)) => format!("unknown key `{key}.{field}`{source}"),
        (Kind::UnknownField(field, _), None) => format!("unknown key `{field}`{source}"),
        (kind, Some(key)) => format!("invalid value for `{key}`{source}: {kind}"),
        (kind, None) => format!("{kind}{source}"),
    }
}
