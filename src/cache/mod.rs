//! A small Redis cache for modules (provider reads, look-ups). Redis is an optimisation here, never a
//! dependency: when it is unreachable every call degrades to a cache bypass, counted and warned about,
//! and the request carries on against the source of truth.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::RedisSettings;

#[derive(Clone)]
pub struct Cache {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    last_warning: Arc<AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("no connection: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error(transparent)]
    Command(#[from] redis::RedisError),
}

impl Cache {
    pub fn new(settings: &RedisSettings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let mut pool_config = PoolConfig::new(settings.pool_size);
        pool_config.timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        let config = Config {
            url: Some(settings.url.expose_secret().to_owned()),
            connection: None,
            pool: Some(pool_config),
        };
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| anyhow::anyhow!("`redis.url` is not usable: {e}"))?;
        Ok(Self {
            pool,
            prefix: settings.key_prefix.clone(),
            timeout,
            last_warning: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs one Redis operation with the configured deadline. For callers that need to know Redis failed
    /// (rate limits choose their own fail-safe); the cache methods below swallow failures instead.
    pub async fn run<T, F, Fut>(&self, operation: F) -> Result<T, RedisError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        let work = async {
            let connection = self.pool.get().await?;
            Ok::<T, RedisError>(operation(connection).await?)
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))?
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let key = self.key(key);
        let result = self
            .run(|mut conn| async move { conn.get::<_, Option<Vec<u8>>>(&key).await })
            .await;
        match result {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(value) => {
                    metrics::counter!("cache_requests_total", "outcome" => "hit").increment(1);
                    Some(value)
                }
                Err(error) => {
                    // A shape change between releases: treat as a miss, the next set overwrites it.
                    tracing::warn!(%error, "cached value no longer deserialises; ignoring it");
                    metrics::counter!("cache_requests_total", "outcome" => "miss").increment(1);
                    None
                }
            },
            Ok(None) => {
                metrics::counter!("cache_requests_total", "outcome" => "miss").increment(1);
                None
            }
            Err(error) => {
                self.degraded("get", &error);
                metrics::counter!("cache_requests_total", "outcome" => "bypass").increment(1);
                None
            }
        }
    }

    pub async fn set<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        let bytes = match serde_json::to_vec(value) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::error!(%error, "value could not be serialised for the cache");
                return;
            }
        };
        let key = self.key(key);
        let seconds = ttl.as_secs().max(1);
        let result = self
            .run(|mut conn| async move { conn.set_ex::<_, _, ()>(&key, bytes, seconds).await })
            .await;
        if let Err(error) = result {
            self.degraded("set", &error);
        }
    }

    pub async fn invalidate(&self, key: &str) {
        let key = self.key(key);
        if let Err(error) = self
            .run(|mut conn| async move { conn.del::<_, ()>(&key).await })
            .await
        {
            self.degraded("invalidate", &error);
        }
    }

    /// Reads through the cache: a hit is returned as is, a miss (or a Redis failure) loads from the source
    /// and stores the result for `ttl`.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &str, ttl: Duration, load: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get(key).await {
            return Ok(value);
        }
        let value = load().await?;
        self.set(key, &value, ttl).await;
        Ok(value)
    }

    pub async fn ping(&self) -> Result<Duration, RedisError> {
        let started = std::time::Instant::now();
        self.run(
            |mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await },
        )
        .await?;
        Ok(started.elapsed())
    }

    pub fn record_pool_metrics(&self) {
        let status = self.pool.status();
        metrics::gauge!("redis_pool_connections", "state" => "idle").set(status.available as f64);
        metrics::gauge!("redis_pool_connections", "state" => "in_use")
            .set((status.size - status.available) as f64);
        metrics::gauge!("redis_pool_connections", "state" => "max").set(status.max_size as f64);
    }

    /// Counts every failure but warns at most every 10 s, so a Redis outage does not flood the logs.
    fn degraded(&self, operation: &'static str, error: &RedisError) {
        metrics::counter!("cache_errors_total", "operation" => operation).increment(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(operation, %error, "Redis unavailable; bypassing the cache");
        }
    }
}
