//! W3C trace context (`traceparent`, `tracestate`) in and out of the process: read from trusted callers'
//! requests, written into provider requests, stored with jobs and outbox events so whatever runs them later,
//! on any replica, continues the same trace.
//!
//! Everything here answers "nothing" while traces are off, without touching the tracing layers.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::enabled;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// W3C asks vendors to pass on at least 512 characters of `tracestate`; more than that from outside is not
/// carried into every provider call, job row and event we write.
const MAX_TRACESTATE_LEN: usize = 512;
/// A version-00 `traceparent` is 55 characters; later versions may append fields, within reason.
const MAX_TRACEPARENT_LEN: usize = 128;

/// A span context as its two W3C headers, in the form it travels and is stored in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub traceparent: String,
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The context of the innermost traced span being run, if traces are on and there is one.
    pub fn current() -> Option<Self> {
        if !enabled() {
            return None;
        }
        Self::of(&opentelemetry::Context::current())
    }

    fn of(context: &opentelemetry::Context) -> Option<Self> {
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut headers = Headers::default();
        TraceContextPropagator::new().inject_context(context, &mut headers);
        let traceparent = headers.traceparent?;
        Some(Self {
            traceparent,
            tracestate: headers.tracestate.filter(|state| !state.is_empty()),
        })
    }

    /// Parses what was stored or received; `None` for anything that is not a valid W3C trace context.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        if traceparent.len() > MAX_TRACEPARENT_LEN || !well_formed(traceparent) {
            return None;
        }
        let tracestate = tracestate.filter(|state| state.len() <= MAX_TRACESTATE_LEN);
        let extracted = TraceContextPropagator::new().extract(&Headers {
            traceparent: Some(traceparent.to_owned()),
            tracestate: tracestate.map(str::to_owned),
        });
        // Re-injected, so only the propagator's canonical form is ever stored or passed on.
        Self::of(&extracted)
    }

    /// Makes `span` (not yet entered) a child of this context. Without traces, or for a span they do not
    /// record, nothing happens.
    pub fn adopt(&self, span: &tracing::Span) {
        if !enabled() {
            return;
        }
        let parent = TraceContextPropagator::new().extract(&Headers {
            traceparent: Some(self.traceparent.clone()),
            tracestate: self.tracestate.clone(),
        });
        // Fails only for spans the layer does not record; they have no parent to set.
        let _ = span.set_parent(parent);
    }

    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.split('-').nth(1)
    }
}

/// The W3C layout, checked before the propagator (which pads short ids): version, a 32- and a 16-digit id and
/// flags, in lower-case hex; version 00 has exactly these four fields, later ones may append more.
fn well_formed(traceparent: &str) -> bool {
    let fields: Vec<&str> = traceparent.split('-').collect();
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    };
    let [version, trace_id, span_id, flags, rest @ ..] = fields.as_slice() else {
        return false;
    };
    hex(version, 2)
        && *version != "ff"
        && (*version != "00" || rest.is_empty())
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
}

/// Just the two headers this propagator reads and writes.
#[derive(Default)]
struct Headers {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => self.traceparent = Some(value),
            TRACESTATE => self.tracestate = Some(value),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_context_is_kept_in_canonical_form() {
        let context = TraceContext::parse(PARENT, Some("congo=t61rcWkgMzE")).expect("valid");
        assert_eq!(context.traceparent, PARENT);
        assert_eq!(context.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(context.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[test]
    fn forged_or_malformed_trace_parents_are_refused() {
        for forged in [
            "",
            "garbage",
            // All-zero ids are invalid by the spec.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Version ff is forbidden; upper case is not hex as W3C spells it.
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx-evil: 1",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(forged, None), None, "{forged:?}");
        }
        let long = format!("{PARENT}-{}", "a".repeat(200));
        assert_eq!(TraceContext::parse(&long, None), None);
    }

    #[test]
    fn an_oversized_or_invalid_trace_state_is_dropped_and_the_parent_kept() {
        let huge = (0..100)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let context = TraceContext::parse(PARENT, Some(&huge)).expect("parent kept");
        assert_eq!(context.tracestate, None);
        let context = TraceContext::parse(PARENT, Some("not a state\r\n")).expect("parent kept");
        assert_eq!(context.tracestate, None);
    }
}
