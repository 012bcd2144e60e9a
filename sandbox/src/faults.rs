//! Fault injection per system, set through `PUT /__sandbox/faults/{system}`. A fault can add latency, fail a
//! share of requests, answer a specific status or provider error code, return a malformed or truncated body
//! or a body of the test's choosing, or hang past the client's timeout — before the request is handled, or
//! after (the effect happened but the caller never hears of it).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Salesforce,
    Whmcs,
    Freebit,
    Messaging,
    Facebook,
    Instagram,
    X,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Salesforce => "salesforce",
            System::Whmcs => "whmcs",
            System::Freebit => "freebit",
            System::Messaging => "messaging",
            System::Facebook => "facebook",
            System::Instagram => "instagram",
            System::X => "x",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The request fails without being handled.
    #[default]
    Before,
    /// The request is handled (its effect is real), then the answer is replaced by the fault.
    After,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Only requests whose operation contains this text (path, query, or WHMCS `action`), e.g. `AddOrder`.
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub phase: Phase,
    /// Added to every matching request.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Share of matching requests that fail (0.0–1.0); 1.0 when absent.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// HTTP status of the failure, e.g. 500, 429, 503.
    #[serde(default)]
    pub status: Option<u16>,
    /// A provider error code, e.g. `REQUEST_LIMIT_EXCEEDED`, `INVALID_SESSION_ID`, a Freebit result code.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Answer 200 with a body that is not valid JSON.
    #[serde(default)]
    pub malformed: bool,
    /// Answer with the real body cut in half.
    #[serde(default)]
    pub truncated: bool,
    /// Never answer (until the client gives up).
    #[serde(default)]
    pub hang: bool,
    /// Answer 200 with this JSON instead of the real answer: a provider that returns the wrong record, or a
    /// hostile one.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Apply to the next N matching requests only; for ever when absent.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    /// Whether this fault fails the request (as opposed to only slowing it).
    pub fn fails(&self) -> bool {
        self.status.is_some()
            || self.error_code.is_some()
            || self.malformed
            || self.truncated
            || self.hang
            || self.body.is_some()
    }
}

#[derive(Default)]
pub struct Faults {
    entries: Mutex<Vec<(System, Fault)>>,
}

impl Faults {
    pub fn add(&self, system: System, fault: Fault) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push((system, fault));
        }
    }

    pub fn clear(&self, system: Option<System>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(s, _)| system.is_some_and(|system| *s != system));
        }
    }

    pub fn list(&self) -> Vec<(System, Fault)> {
        self.entries
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    /// The fault to apply to this request, if any, consuming one use of a counted fault.
    pub fn take(&self, system: System, operation: &str) -> Option<Fault> {
        let mut entries = self.entries.lock().ok()?;
        let index = entries.iter().position(|(s, fault)| {
            *s == system
                && fault
                    .operation
                    .as_deref()
                    .is_none_or(|wanted| operation.contains(wanted))
        })?;
        let fault = entries[index].1.clone();
        if let Some(times) = fault.times {
            if times <= 1 {
                entries.remove(index);
            } else {
                entries[index].1.times = Some(times - 1);
            }
        }
        drop(entries);
        let fires = fault
            .error_rate
            .is_none_or(|rate| rand::random::<f64>() < rate);
        fires.then_some(fault)
    }
}
