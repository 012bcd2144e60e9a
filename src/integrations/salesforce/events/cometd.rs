//! The Streaming API over CometD long polling: `POST {instance}/cometd/60.0` with a JSON array of Bayeux
//! messages and the bearer token. Handshake, subscribe with the replay extension, then one `/meta/connect`
//! per [`PlatformEventSubscriber::next_events`], which the server holds open until events arrive or its
//! advised timeout passes.
//!
//! Recovery: `advice.reconnect = handshake` or `403::Unknown client` → handshake and subscribe again after
//! the last delivered event; `401::…` → drop the OAuth session as well; a replay id Salesforce no longer
//! retains → subscribe from `-2` (every retained event) with a warning, since `-1` would silently skip the
//! events published since, while duplicates are harmless to a consumer that re-checks what it acts on.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;
use sqlx::PgPool;

use super::bayeux::{self, Message, Verdict};
use super::{PlatformEvent, PlatformEventSubscriber, ReplayFrom};
use crate::integrations::ProviderError;
use crate::integrations::salesforce::auth::Session;
use crate::integrations::salesforce::call::ApiCall;
use crate::integrations::salesforce::{SYSTEM, SalesforceClient, replay};
use crate::telemetry::redact;

/// Salesforce holds a connect for up to 110 s unless its advice says otherwise.
const DEFAULT_LONG_POLL: Duration = Duration::from_secs(110);
const MAX_LONG_POLL: Duration = Duration::from_secs(180);
/// The request must outlive the server's long poll, or every quiet period would read as a timeout.
const LONG_POLL_MARGIN: Duration = Duration::from_secs(15);
const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Handshakes one `next_events` call may attempt before reporting the server unavailable.
const MAX_ROUNDS: usize = 3;

pub struct CometdSubscriber {
    client: SalesforceClient,
    channel: String,
    /// Where the next subscription starts: the configured point, then after the last delivered event.
    replay: ReplayFrom,
    client_id: Option<String>,
    /// The CometD server pins a session to one node with cookies; it forgets clients that drop them.
    cookies: Vec<(String, String)>,
    next_message_id: u64,
    long_poll: Duration,
    interval: Duration,
}

/// What a protocol step leads to: its result, or a new handshake (with the reason, for the logs).
enum Step<T> {
    Done(T),
    Again(String),
}

impl std::fmt::Debug for CometdSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CometdSubscriber")
            .field("channel", &self.channel)
            .field("replay", &self.replay)
            .field("connected", &self.client_id.is_some())
            .finish_non_exhaustive()
    }
}

impl CometdSubscriber {
    /// `channel` is e.g. `/event/OrderProvisionRequested__e`.
    pub fn new(
        client: SalesforceClient,
        channel: impl Into<String>,
        from: ReplayFrom,
    ) -> Result<Self, ProviderError> {
        let channel = channel.into();
        let valid = channel.starts_with('/')
            && channel.len() <= 255
            && !channel.contains("//")
            && channel
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/'));
        if !valid {
            return Err(ProviderError::rejected(
                SYSTEM,
                None,
                "INVALID_CHANNEL",
                "a channel looks like /event/Name__e",
            ));
        }
        Ok(Self {
            client,
            channel,
            replay: from,
            client_id: None,
            cookies: Vec::new(),
            next_message_id: 1,
            long_poll: DEFAULT_LONG_POLL,
            interval: Duration::ZERO,
        })
    }

    /// Resumes after the last replay id stored for the channel, or from new events when none is.
    pub async fn resume(
        client: SalesforceClient,
        channel: impl Into<String>,
        pool: &PgPool,
    ) -> anyhow::Result<Self> {
        let channel = channel.into();
        let stored = replay::load_replay_id(pool, &channel).await?;
        Ok(Self::new(client, channel, ReplayFrom::stored(stored))?)
    }

    pub fn replay_from(&self) -> ReplayFrom {
        self.replay
    }

    async fn poll(&mut self) -> Result<Vec<PlatformEvent>, ProviderError> {
        let mut reason = String::new();
        for _ in 0..MAX_ROUNDS {
            if self.client_id.is_none() {
                let client_id = match self.handshake().await? {
                    Step::Done(client_id) => client_id,
                    Step::Again(why) => {
                        reason = why;
                        continue;
                    }
                };
                // Only a subscribed session counts: connecting one that is not would wait for nothing.
                if let Step::Again(why) = self.subscribe(&client_id).await? {
                    reason = why;
                    continue;
                }
                self.client_id = Some(client_id);
            }
            match self.connect().await? {
                Step::Done(events) => return Ok(events),
                Step::Again(why) => reason = why,
            }
            tracing::info!(channel = %self.channel, reason = %redact::scrub(&reason), "cometd asked for a new handshake");
        }
        Err(ProviderError::Unavailable {
            system: SYSTEM,
            reason: format!(
                "no CometD session after {MAX_ROUNDS} handshakes: {}",
                redact::scrub(&reason)
            ),
        })
    }

    async fn handshake(&mut self) -> Result<Step<String>, ProviderError> {
        let id = self.next_id();
        let reply = self
            .exchange("cometd_handshake", bayeux::handshake(id), None)
            .await?;
        let Some((message, session)) = reply.find(bayeux::HANDSHAKE) else {
            return Err(missing_reply(bayeux::HANDSHAKE));
        };
        self.absorb_advice(message);
        match message.verdict() {
            Verdict::Accepted => {
                let client_id = message
                    .client_id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        ProviderError::malformed(SYSTEM, "handshake reply has no clientId")
                    })?;
                Ok(Step::Done(client_id))
            }
            // Only an expired token is worth another handshake; any other refusal would be refused again.
            Verdict::Rehandshake {
                reauthenticate: true,
                reason,
            } => {
                self.client.forget_session(session).await;
                Ok(Step::Again(reason))
            }
            Verdict::Rehandshake { reason, .. } | Verdict::Refused(reason) => {
                Err(refusal("HANDSHAKE", &reason))
            }
        }
    }

    async fn subscribe(&mut self, client_id: &str) -> Result<Step<()>, ProviderError> {
        loop {
            let id = self.next_id();
            let body = bayeux::subscribe(id, client_id, &self.channel, self.replay.as_replay_id());
            let reply = self.exchange("cometd_subscribe", body, None).await?;
            let Some((message, session)) = reply.find(bayeux::SUBSCRIBE) else {
                return Err(missing_reply(bayeux::SUBSCRIBE));
            };
            if message.is_invalid_replay_id() && matches!(self.replay, ReplayFrom::After(_)) {
                tracing::warn!(
                    channel = %self.channel,
                    replay_id = self.replay.as_replay_id(),
                    "replay id no longer retained by Salesforce; replaying every retained event (-2)"
                );
                self.replay = ReplayFrom::AllRetained;
                continue;
            }
            return match message.verdict() {
                Verdict::Accepted => Ok(Step::Done(())),
                Verdict::Rehandshake {
                    reauthenticate,
                    reason,
                } => {
                    if reauthenticate {
                        self.client.forget_session(session).await;
                    }
                    Ok(Step::Again(reason))
                }
                Verdict::Refused(reason) => Err(refusal("SUBSCRIBE", &reason)),
            };
        }
    }

    async fn connect(&mut self) -> Result<Step<Vec<PlatformEvent>>, ProviderError> {
        if !self.interval.is_zero() {
            tokio::time::sleep(self.interval).await;
        }
        let client_id = self.client_id.clone().unwrap_or_default();
        let id = self.next_id();
        let timeout = self.long_poll + LONG_POLL_MARGIN;
        let reply = self
            .exchange(
                "cometd_connect",
                bayeux::connect(id, &client_id),
                Some(timeout),
            )
            .await?;

        let mut events = Vec::new();
        let mut verdict = Verdict::Accepted;
        for message in &reply.messages {
            if message.channel == bayeux::CONNECT {
                self.absorb_advice(message);
                verdict = message.verdict();
            } else if message.channel == self.channel {
                match message.event() {
                    Ok(event) => events.push(event),
                    Err(missing) => {
                        metrics::counter!("salesforce_events_unreadable_total").increment(1);
                        tracing::warn!(channel = %self.channel, missing, "skipping an unreadable platform event");
                    }
                }
            }
        }
        if let Some(last) = events.last() {
            self.replay = ReplayFrom::After(last.replay_id);
            metrics::counter!("salesforce_events_received_total").increment(events.len() as u64);
        }

        match verdict {
            Verdict::Accepted => Ok(Step::Done(events)),
            Verdict::Rehandshake {
                reauthenticate,
                reason,
            } => {
                if reauthenticate {
                    self.client.forget_session(&reply.session).await;
                }
                self.client_id = None;
                // Events that came with the advice are still delivered; the handshake waits for the next call.
                Ok(if events.is_empty() {
                    Step::Again(reason)
                } else {
                    Step::Done(events)
                })
            }
            Verdict::Refused(reason) => {
                self.client_id = None;
                if events.is_empty() {
                    Err(refusal("CONNECT", &reason))
                } else {
                    Ok(Step::Done(events))
                }
            }
        }
    }

    async fn disconnect(&mut self) {
        let Some(client_id) = self.client_id.take() else {
            return;
        };
        let id = self.next_id();
        if let Err(error) = self
            .exchange(
                "cometd_disconnect",
                bayeux::disconnect(id, &client_id),
                None,
            )
            .await
        {
            tracing::debug!(error = %redact::scrub(&error.to_string()), "cometd disconnect failed");
        }
    }

    async fn exchange(
        &mut self,
        operation: &'static str,
        body: Value,
        timeout: Option<Duration>,
    ) -> Result<Reply, ProviderError> {
        let mut call = ApiCall::new(Method::POST, self.client.cometd_path())
            .json(&body)?
            .cookie(self.cookie_header());
        if let Some(timeout) = timeout {
            call = call.timeout(timeout);
        }
        let (response, session) = self.client.send_with_session(operation, &call).await?;
        self.remember_cookies(&response.headers);
        let messages: Vec<Message> = response.json(SYSTEM)?;
        Ok(Reply { messages, session })
    }

    fn absorb_advice(&mut self, message: &Message) {
        let Some(advice) = &message.advice else {
            return;
        };
        if let Some(timeout) = advice.timeout_ms() {
            self.long_poll = Duration::from_millis(timeout).min(MAX_LONG_POLL);
        }
        if let Some(interval) = advice.interval_ms() {
            self.interval = Duration::from_millis(interval).min(MAX_INTERVAL);
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn remember_cookies(&mut self, headers: &HeaderMap) {
        for header in headers.get_all(SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                continue;
            }
            self.cookies.retain(|(known, _)| known != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }
}

struct Reply {
    messages: Vec<Message>,
    session: Arc<Session>,
}

impl Reply {
    fn find(&self, channel: &str) -> Option<(&Message, &Arc<Session>)> {
        self.messages
            .iter()
            .find(|message| message.channel == channel)
            .map(|message| (message, &self.session))
    }
}

impl PlatformEventSubscriber for CometdSubscriber {
    fn channel(&self) -> &str {
        &self.channel
    }

    fn next_events(&mut self) -> BoxFuture<'_, Result<Vec<PlatformEvent>, ProviderError>> {
        Box::pin(self.poll())
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.disconnect())
    }
}

fn missing_reply(channel: &str) -> ProviderError {
    ProviderError::malformed(SYSTEM, format!("no {channel} reply in the CometD answer"))
}

/// A Bayeux error reads `403::Handshake denied`: the HTTP-like status, then the text.
fn refusal(step: &str, reason: &str) -> ProviderError {
    let (status, text) = match reason.split_once("::") {
        Some((status, text)) => (status.trim().parse::<u16>().ok(), text),
        None => (None, reason),
    };
    ProviderError::rejected(
        SYSTEM,
        status,
        format!("COMETD_{step}_REFUSED"),
        redact::scrub(text),
    )
}
