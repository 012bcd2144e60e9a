use deadpool_redis::redis;

use super::OutboxEvent;
use crate::cache::{Cache, RedisError};
use crate::telemetry::{TRACEPARENT, TRACESTATE, TraceContext};

/// Where the dispatcher delivers events. Delivery is at least once: consumers de-duplicate on the event id.
pub trait EventSink: Send + Sync + 'static {
    fn deliver(&self, event: &OutboxEvent) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Two sinks in turn: the event is delivered when both took it. A failure of either is the delivery's
/// failure, so the first may see the event again on the retry (delivery is at least once anyway).
impl<A: EventSink, B: EventSink> EventSink for (A, B) {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        self.0.deliver(event).await?;
        self.1.deliver(event).await
    }
}

/// Appends each event to a Redis stream (`XADD`, trimmed to roughly `max_len` entries).
#[derive(Clone)]
pub struct RedisStreamSink {
    cache: Cache,
    stream: String,
    max_len: usize,
}

impl RedisStreamSink {
    pub fn new(cache: Cache, stream: &str, max_len: usize) -> Self {
        let stream = cache.key(stream);
        Self {
            cache,
            stream,
            max_len,
        }
    }

    pub fn stream_key(&self) -> &str {
        &self.stream
    }
}

impl EventSink for RedisStreamSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        let payload = serde_json::to_string(&event.payload)?;
        let id = event.id.to_string();
        let occurred_at = event.created_at.to_rfc3339();
        let stream = self.stream.clone();
        let max_len = self.max_len;
        // The delivery's own span (the current one), which continues the trace the event was recorded in.
        let trace = TraceContext::current();
        self.cache
            .run(|mut conn| async move {
                let mut command = redis::cmd("XADD");
                command
                    .arg(&stream)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max_len)
                    .arg("*")
                    .arg("id")
                    .arg(&id)
                    .arg("topic")
                    .arg(&event.topic)
                    .arg("aggregate_type")
                    .arg(&event.aggregate_type)
                    .arg("aggregate_id")
                    .arg(&event.aggregate_id)
                    .arg("occurred_at")
                    .arg(&occurred_at)
                    .arg("payload")
                    .arg(&payload);
                if let Some(trace) = &trace {
                    command.arg(TRACEPARENT).arg(&trace.traceparent);
                    if let Some(state) = &trace.tracestate {
                        command.arg(TRACESTATE).arg(state);
                    }
                }
                command.query_async::<String>(&mut conn).await
            })
            .await
            .map_err(|error: RedisError| anyhow::anyhow!("redis stream: {error}"))?;
        Ok(())
    }
}
