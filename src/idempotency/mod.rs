//! `Idempotency-Key` for POSTs with an external effect (payments, orders, top-ups, plan changes…).
//!
//! A key belongs to one user and names one request: its fingerprint (method, path, SHA-256 of the body) is
//! recorded by [`begin`] before the work starts, in its own transaction, so two replicas racing on one key
//! see one row. Then:
//! - same key, same request, finished → the first response (status and JSON body) is replayed, with
//!   `Idempotent-Replayed: true`;
//! - same key, same request, still running → 409 with `Retry-After`;
//! - same key, another request → 422 `idempotency-key-reused`;
//! - a request that failed with a 5xx (a provider down, a timeout) before any external effect started is
//!   forgotten, so the client may retry with the same key; a 4xx answer (an invoice already paid, a declined
//!   card) is a result and is replayed;
//! - a request that failed with a 5xx after its external effect may have happened ([`effect_started`]) is
//!   not forgotten: its record is released for the retry, which resumes it ([`Claim::resumed`]), reconciles
//!   with the external system by the key's [`Claim::effect_id`] and answers with the real outcome.
//!
//! Claims are fenced: each carries a token that [`complete`], [`forget`] and [`effect_started`] must match,
//! and its holder refreshes a heartbeat while it works. A claim is taken over only once its heartbeat is
//! older than [`STALE_AFTER`] (the holder died or released it), never while it still works; the previous
//! holder's writes are refused from then on.
//!
//! Rows expire after 24 hours (housekeeping deletes them). [`execute`] runs the whole protocol around a piece
//! of work; the work runs in its own task, so a client that disconnects does not cancel a payment half-way
//! through.

use std::future::Future;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use aws_lc_rs::digest;
use serde::Serialize;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::errors::{ApiError, ErrorCode, PROBLEM_JSON};
use crate::http::request_context;

pub const HEADER: &str = "Idempotency-Key";
/// Set on a replayed response.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// How long a finished request is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How often a request holding a key says it is still working.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A claim whose heartbeat is older than this belongs to a request that stopped (a crash, a lost replica): a
/// repeat takes it over. A live holder is never taken over, however long its work takes.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
pub const MAX_KEY_LEN: usize = 255;

/// A valid `Idempotency-Key`: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the Idempotency-Key header is required")]
    Missing,
    #[error("the Idempotency-Key header must be sent once")]
    Repeated,
    #[error("the Idempotency-Key must be 1 to 255 visible ASCII characters")]
    Invalid,
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        let detail = match error {
            KeyError::Missing => {
                "Send an Idempotency-Key header (1 to 255 visible characters, e.g. a UUID) with this request."
            }
            KeyError::Repeated => "Send the Idempotency-Key header once.",
            KeyError::Invalid => {
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters (e.g. a UUID)."
            }
        };
        ApiError::new(ErrorCode::BadRequest).with_detail(detail)
    }
}

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, KeyError> {
        let valid =
            (1..=MAX_KEY_LEN).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(KeyError::Invalid)
        }
    }

    /// The key of a request's `Idempotency-Key` header.
    pub fn from_request(req: &HttpRequest) -> Result<Self, KeyError> {
        let mut values = req.headers().get_all(HEADER);
        let value = values.next().ok_or(KeyError::Missing)?;
        if values.next().is_some() {
            return Err(KeyError::Repeated);
        }
        Self::parse(value.to_str().map_err(|_| KeyError::Invalid)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests "the same": method, path and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    digest: [u8; 32],
    method: String,
    path: String,
}

impl Fingerprint {
    /// `body` as the handler understood it; callers with a typed body pass its canonical serialisation, so
    /// whitespace or key order does not make a repeat look like another request.
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        let body_digest = digest::digest(&digest::SHA256, body);
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(method.as_bytes());
        context.update(&[0]);
        context.update(path.as_bytes());
        context.update(&[0]);
        context.update(body_digest.as_ref());
        let mut bytes = [0_u8; 32];
        bytes.copy_from_slice(context.finish().as_ref());
        Self {
            digest: bytes,
            method: method.to_owned(),
            path: path.to_owned(),
        }
    }

    /// `body` serialised as JSON. `path` is best the canonical one (built from the parsed ids), so that
    /// `/invoices/01002` and `/invoices/1002` are one request.
    pub fn of_json<T: Serialize>(method: &str, path: &str, body: &T) -> Result<Self, ApiError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| ApiError::internal(anyhow::Error::new(e)))?;
        Ok(Self::new(method, path, &bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.digest
    }
}

/// A response as recorded: status and JSON body. Problems (4xx) are recorded like successes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl StoredResponse {
    pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Self, ApiError> {
        let body =
            serde_json::to_value(body).map_err(|e| ApiError::internal(anyhow::Error::new(e)))?;
        Ok(Self { status, body })
    }

    fn from_error(error: &ApiError) -> Result<Self, ApiError> {
        Self::json(error.status_code(), &error.problem())
    }

    pub fn to_response(&self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status.is_client_error() || self.status.is_server_error() {
            response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        }
        if replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        response.json(&self.body)
    }
}

/// A key [`begin`] handed to this request: finish it with [`complete`] or [`forget`]. Its token fences
/// every write: once another request took the key over, this claim can no longer change the record.
#[derive(Debug, Clone)]
pub struct Claim {
    user_id: Uuid,
    key: IdempotencyKey,
    token: Uuid,
    effect_id: Uuid,
    resumed: bool,
}

impl Claim {
    /// The id of the external effect this key stands for, the same for every holder of the key: send it to
    /// the external system as the record's external id, and look for it there before creating again.
    pub fn effect_id(&self) -> Uuid {
        self.effect_id
    }

    /// An earlier holder of the key started an external effect and did not record the outcome (a 5xx, a
    /// crash): the external system may already have it, so look before creating again.
    pub fn resumed(&self) -> bool {
        self.resumed
    }
}

/// A write by a claim that was taken over: refused, the record belongs to the new holder.
#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    #[error("the idempotency claim was taken over by another request")]
    Fenced,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug)]
pub enum Begin {
    /// This request owns the key: do the work.
    Started(Claim),
    /// The same request already finished: answer this.
    Replay(StoredResponse),
}

/// Records the request under its key, or tells why it must not run (see the module docs).
#[tracing::instrument(name = "idempotency.begin", skip_all, err(Debug))]
pub async fn begin(
    pool: &PgPool,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
) -> Result<Begin, ApiError> {
    let ttl_secs = TTL.as_secs_f64();
    let stale_secs = STALE_AFTER.as_secs_f64();
    // A row deleted between our insert and our read (forgotten by a failing twin) is simply retried.
    for _ in 0..3 {
        let token = Uuid::new_v4();
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query_scalar!(
            "INSERT INTO idempotency_keys
                 (user_id, key, fingerprint, request_method, request_path, expires_at, claim_token,
                  heartbeat_at, effect_id)
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7, now(), $8)
             ON CONFLICT (user_id, key) DO NOTHING
             RETURNING effect_id",
            user_id,
            key.as_str(),
            fingerprint.as_bytes(),
            fingerprint.method,
            fingerprint.path,
            ttl_secs,
            token,
            Uuid::now_v7(),
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(effect_id) = inserted {
            tx.commit().await?;
            return Ok(Begin::Started(Claim {
                user_id,
                key: key.clone(),
                token,
                effect_id,
                resumed: false,
            }));
        }
        let existing = sqlx::query!(
            r#"SELECT fingerprint, state, response_status, response_body, effect_started,
                      expires_at <= now() AS "expired!",
                      heartbeat_at < now() - make_interval(secs => $3) AS "stopped!"
               FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE"#,
            user_id,
            key.as_str(),
            stale_secs,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = existing else {
            continue;
        };
        let same_request = row.fingerprint.as_slice() == fingerprint.as_bytes();
        if row.expired {
            // A new request under an old key: a new effect, nothing to reconcile.
            let effect_id = sqlx::query_scalar!(
                "UPDATE idempotency_keys
                 SET fingerprint = $3, request_method = $4, request_path = $5, state = 'in_progress',
                     response_status = NULL, response_body = NULL, created_at = now(),
                     expires_at = now() + make_interval(secs => $6), claim_token = $7,
                     heartbeat_at = now(), effect_id = $8, effect_started = false
                 WHERE user_id = $1 AND key = $2
                 RETURNING effect_id",
                user_id,
                key.as_str(),
                fingerprint.as_bytes(),
                fingerprint.method,
                fingerprint.path,
                ttl_secs,
                token,
                Uuid::now_v7(),
            )
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Begin::Started(Claim {
                user_id,
                key: key.clone(),
                token,
                effect_id,
                resumed: false,
            }));
        }
        if same_request && row.state == "in_progress" && row.stopped {
            // Its holder stopped (crashed, or released it after a failure): take it over, with its effect.
            let effect_id = sqlx::query_scalar!(
                "UPDATE idempotency_keys SET claim_token = $3, heartbeat_at = now()
                 WHERE user_id = $1 AND key = $2
                 RETURNING effect_id",
                user_id,
                key.as_str(),
                token,
            )
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(
                resumed = row.effect_started,
                "idempotency: a stopped claim taken over"
            );
            return Ok(Begin::Started(Claim {
                user_id,
                key: key.clone(),
                token,
                effect_id,
                resumed: row.effect_started,
            }));
        }
        tx.commit().await?;
        if !same_request {
            return Err(ApiError::new(ErrorCode::IdempotencyKeyReused).with_detail(
                "This Idempotency-Key was used for a different request; use a new key for a new request.",
            ));
        }
        return match (row.state.as_str(), row.response_status, row.response_body) {
            ("completed", Some(status), Some(body)) => {
                let status = u16::try_from(status)
                    .ok()
                    .and_then(|status| StatusCode::from_u16(status).ok())
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!(
                            "stored response status {status} is invalid"
                        ))
                    })?;
                Ok(Begin::Replay(StoredResponse { status, body }))
            }
            _ => Err(in_progress()),
        };
    }
    Err(in_progress())
}

/// A repeat while the first request with the key still runs: the client retries shortly with the same key.
fn in_progress() -> ApiError {
    ApiError::new(ErrorCode::RequestInProgress)
        .with_detail("A request with this Idempotency-Key is still being processed; retry shortly.")
        .with_retry_after(1)
}

fn fenced(rows: u64) -> Result<(), FenceError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(FenceError::Fenced)
    }
}

/// Records the response of a claimed request, to be replayed for repeats. Refused when the claim was taken
/// over.
pub async fn complete(
    pool: &PgPool,
    claim: &Claim,
    response: &StoredResponse,
) -> Result<(), FenceError> {
    let rows = sqlx::query!(
        "UPDATE idempotency_keys SET state = 'completed', response_status = $4, response_body = $5
         WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'",
        claim.user_id,
        claim.key.as_str(),
        claim.token,
        i16::try_from(response.status.as_u16()).unwrap_or(500),
        response.body,
    )
    .execute(pool)
    .await?
    .rows_affected();
    fenced(rows)
}

/// Releases a claimed key without a result, so a retry with the same key runs again: the record is deleted
/// while no external effect was started, and otherwise kept and released at once (its heartbeat put in the
/// past) for the retry to take over and reconcile. Refused when the claim was taken over.
pub async fn forget(pool: &PgPool, claim: &Claim) -> Result<(), FenceError> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query!(
        "DELETE FROM idempotency_keys
         WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'
           AND NOT effect_started",
        claim.user_id,
        claim.key.as_str(),
        claim.token,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let released = if deleted == 0 {
        sqlx::query!(
            "UPDATE idempotency_keys SET heartbeat_at = '-infinity', claim_token = NULL
             WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'",
            claim.user_id,
            claim.key.as_str(),
            claim.token,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        0
    };
    tx.commit().await?;
    fenced(deleted + released)
}

/// Records, before the request that may cause it goes out, that the claim's external effect may happen:
/// from now on a failure keeps the record for a retry to reconcile. Refused when the claim was taken over
/// (the new holder does the work).
pub async fn effect_started(pool: &PgPool, claim: &Claim) -> Result<(), FenceError> {
    let rows = sqlx::query!(
        "UPDATE idempotency_keys SET effect_started = true, heartbeat_at = now()
         WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'",
        claim.user_id,
        claim.key.as_str(),
        claim.token,
    )
    .execute(pool)
    .await?
    .rows_affected();
    fenced(rows)
}

/// The holder is still working: refreshes the heartbeat that keeps the claim from being taken over.
pub async fn heartbeat(pool: &PgPool, claim: &Claim) -> Result<(), FenceError> {
    let rows = sqlx::query!(
        "UPDATE idempotency_keys SET heartbeat_at = now()
         WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'",
        claim.user_id,
        claim.key.as_str(),
        claim.token,
    )
    .execute(pool)
    .await?
    .rows_affected();
    fenced(rows)
}

/// Deletes expired records (housekeeping).
pub async fn prune_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM idempotency_keys WHERE expires_at <= now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// What the work of [`execute_with`] gets: its claim, and the means to say an external effect starts.
#[derive(Clone)]
pub struct Attempt {
    pool: PgPool,
    claim: Claim,
}

impl Attempt {
    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    /// Call right before the first request with an external effect goes out (see [`effect_started`]). A
    /// claim taken over meanwhile stops here: the new holder does the work.
    pub async fn external_effect(&self) -> Result<(), ApiError> {
        match effect_started(&self.pool, &self.claim).await {
            Ok(()) => Ok(()),
            Err(FenceError::Fenced) => Err(in_progress()),
            Err(FenceError::Database(error)) => Err(error.into()),
        }
    }
}

/// The whole protocol around `work`: begin (replaying or refusing where the key says so), run the work, record
/// a success or 4xx answer, forget a 5xx one. The work and the recording run in their own task, so a client
/// that disconnects cancels neither a payment half-way through nor the bookkeeping after it.
pub async fn execute<F, Fut>(
    pool: &PgPool,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredResponse, ApiError>> + Send + 'static,
{
    execute_with(pool, user_id, key, fingerprint, |_| Ok(()), |_| work()).await
}

/// [`execute`], with `replayable` asked before a recorded answer is replayed: a recorded answer that names
/// something no longer usable (an expired payment link) is refused with the error it returns instead. The
/// key stays bound to its first answer, as Stripe's keys do: a new attempt takes a new key.
pub async fn execute_checked<R, F, Fut>(
    pool: &PgPool,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    replayable: R,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    R: FnOnce(&StoredResponse) -> Result<(), ApiError>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredResponse, ApiError>> + Send + 'static,
{
    execute_with(pool, user_id, key, fingerprint, replayable, |_| work()).await
}

/// The general form: `work` gets the [`Attempt`], to name its external effect by the claim's
/// [`Claim::effect_id`], to reconcile first when [`Claim::resumed`], and to mark the effect as started
/// (after which a 5xx keeps the record for the retry to reconcile). A heartbeat keeps the claim while the
/// work runs, however long it takes.
pub async fn execute_with<R, F, Fut>(
    pool: &PgPool,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    replayable: R,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    R: FnOnce(&StoredResponse) -> Result<(), ApiError>,
    F: FnOnce(Attempt) -> Fut,
    Fut: Future<Output = Result<StoredResponse, ApiError>> + Send + 'static,
{
    let claim = match begin(pool, user_id, key, fingerprint).await? {
        Begin::Replay(response) => {
            replayable(&response)?;
            return Ok(response.to_response(true));
        }
        Begin::Started(claim) => claim,
    };
    let pool = pool.clone();
    let work = work(Attempt {
        pool: pool.clone(),
        claim: claim.clone(),
    });
    let run = async move {
        // Dropped with this future, also when the work panics: the heartbeat stops, the claim goes stale.
        let beat = AbortOnDrop(tokio::spawn(keep_alive(pool.clone(), claim.clone())));
        let outcome = work.await;
        drop(beat);
        finish(&pool, &claim, &outcome).await;
        outcome
    }
    .instrument(tracing::Span::current());
    let task = match request_context::current() {
        Some(context) => tokio::spawn(request_context::scope(context, run)),
        None => tokio::spawn(run),
    };
    match task.await {
        Ok(outcome) => outcome.map(|response| response.to_response(false)),
        // A panic in the work: the key stays `in_progress` until its heartbeat is stale.
        Err(join_error) => Err(ApiError::internal(anyhow::anyhow!(
            "idempotent work did not finish: {join_error}"
        ))),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn keep_alive(pool: PgPool, claim: Claim) {
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        match heartbeat(&pool, &claim).await {
            Ok(()) => {}
            Err(FenceError::Fenced) => {
                tracing::warn!("idempotency: the claim was taken over while its work ran");
                return;
            }
            Err(FenceError::Database(error)) => {
                tracing::warn!(error = %error, "idempotency: the heartbeat could not be written");
            }
        }
    }
}

/// Records the outcome of a claimed request: answers below 500 are results, 5xx ones are forgotten (or,
/// after an external effect started, released for a retry to reconcile).
async fn finish(pool: &PgPool, claim: &Claim, outcome: &Result<StoredResponse, ApiError>) {
    let recorded = match outcome {
        Ok(response) => Some(response.clone()),
        Err(error) if !error.status_code().is_server_error() => {
            StoredResponse::from_error(error).ok()
        }
        Err(_) => None,
    };
    let result = match recorded {
        Some(response) => complete(pool, claim, &response).await,
        None => forget(pool, claim).await,
    };
    match result {
        Ok(()) => {}
        Err(FenceError::Fenced) => {
            // Our heartbeat lapsed and another request holds the key now: its outcome is the record.
            tracing::warn!("idempotency: the outcome was not recorded; the key has a new holder");
        }
        Err(FenceError::Database(error)) => {
            // The effect happened; a repeat now runs again and meets the changed state (an invoice already
            // paid), which is safe. Answer the client rather than hide the result.
            tracing::error!(error = %error, "idempotency: the outcome could not be recorded");
        }
    }
}

/// Erasure: forgets every key of `user_id` that is finished (their stored responses may quote the
/// customer's profile); keys still in progress are left to their holders (they expire within 24 hours).
pub async fn forget_user(pool: &PgPool, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND state = 'completed'",
        user_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("0190f4c2-7b1e-7cc0-a1b2-3c4d5e6f7a8b").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "tab\t", "ключ", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(KeyError::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let base = Fingerprint::new("POST", "/a", b"{}");
        assert_eq!(base, Fingerprint::new("POST", "/a", b"{}"));
        assert_ne!(base, Fingerprint::new("PUT", "/a", b"{}"));
        assert_ne!(base, Fingerprint::new("POST", "/b", b"{}"));
        assert_ne!(base, Fingerprint::new("POST", "/a", b"{ }"));
        assert_eq!(base.as_bytes().len(), 32);
    }
}
