//! One authenticated call to the instance: described once, rebuilt for every transport attempt, and replayed
//! once with a fresh session when Salesforce refuses the token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::Session;
use super::{SYSTEM, SalesforceClient, error};
use crate::integrations::{ProviderError, RawResponse};

/// A request relative to the instance URL the session names.
pub(super) struct ApiCall {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Bytes>,
    timeout: Option<Duration>,
    cookie: Option<String>,
    once: bool,
}

impl ApiCall {
    pub(super) fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            timeout: None,
            cookie: None,
            once: false,
        }
    }

    pub(super) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// Serialised once, so retries resend the same bytes.
    pub(super) fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|error| {
            ProviderError::rejected(
                SYSTEM,
                None,
                "UNSERIALIZABLE_BODY",
                format!("the request body could not be serialised: {error}"),
            )
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Overrides the transport's total timeout, for long polls that legitimately outlast it.
    pub(super) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sent once, never retried by the transport: a create whose answer is lost may have happened, so the
    /// caller looks it up (by its external id) before sending it again.
    pub(super) fn once(mut self) -> Self {
        self.once = true;
        self
    }

    pub(super) fn cookie(mut self, cookie: Option<String>) -> Self {
        self.cookie = cookie;
        self
    }

    fn build(&self, http: &reqwest::Client, session: &Session) -> reqwest::RequestBuilder {
        let mut request = http
            .request(
                self.method.clone(),
                format!("{}{}", session.instance_url, self.path),
            )
            .bearer_auth(session.access_token.expose_secret())
            .header(ACCEPT, "application/json");
        if !self.query.is_empty() {
            request = request.query(&self.query);
        }
        if let Some(body) = &self.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie.as_str());
        }
        request
    }
}

impl SalesforceClient {
    pub(super) async fn send(
        &self,
        operation: &'static str,
        call: &ApiCall,
    ) -> Result<RawResponse, ProviderError> {
        self.send_with_session(operation, call)
            .await
            .map(|(response, _)| response)
    }

    pub(super) async fn send_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        call: &ApiCall,
    ) -> Result<T, ProviderError> {
        self.send(operation, call).await?.json(SYSTEM)
    }

    /// Also returns the session the answer was given under, so a caller that learns the session is dead from
    /// the payload itself (CometD says so inside a 200) can drop exactly that one.
    pub(super) async fn send_with_session(
        &self,
        operation: &'static str,
        call: &ApiCall,
    ) -> Result<(RawResponse, Arc<Session>), ProviderError> {
        let inner = &self.inner;
        let mut session = inner.auth.session(&inner.transport).await?;
        let mut reauthenticated = false;
        let transport = if call.once {
            &inner.single
        } else {
            &inner.transport
        };
        loop {
            let refused = AtomicBool::new(false);
            // A refused session (401) means the call was not processed: replaying it is safe even when once.
            let result = transport
                .execute(
                    operation,
                    |http| call.build(http, &session),
                    |response| error::classify(response, &refused),
                )
                .await;
            match result {
                Err(_) if refused.load(Ordering::Relaxed) && !reauthenticated => {
                    tracing::info!(operation, "salesforce session refused; re-authenticating");
                    session = inner.auth.replace(&inner.transport, &session).await?;
                    reauthenticated = true;
                }
                Err(error) => return Err(error),
                Ok(response) => return Ok((response, session)),
            }
        }
    }

    pub(super) async fn forget_session(&self, stale: &Arc<Session>) {
        self.inner.auth.forget(stale).await;
    }
}
