//! The login limiter's in-process fallback while Redis is unreachable: the same rules as the scripts, under
//! one mutex (so a burst is just as atomic), per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Rules;

/// Entries kept before expired ones are swept, so a flood of distinct keys cannot grow memory for ever.
const SWEEP_AT: usize = 100_000;

#[derive(Default)]
pub struct Local {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    scopes: HashMap<String, Entry>,
    in_flight: HashMap<String, Vec<(String, Instant)>>,
}

struct Entry {
    count: u32,
    window_ends: Instant,
    lock: Option<(Instant, String)>,
}

impl Local {
    /// `scopes`: (key, limit), the account first. `Err(retry_after)` when refused.
    pub fn reserve(
        &self,
        rules: &Rules,
        scopes: &[(&str, u32)],
        in_flight_key: &str,
        token: &str,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        // A poisoned lock means a panic mid-update; refusing is the safe answer.
        let Ok(mut state) = self.state.lock() else {
            return Err(rules.base);
        };
        if state.scopes.len() > SWEEP_AT {
            state
                .scopes
                .retain(|_, e| e.window_ends > now || e.lock.as_ref().is_some_and(|l| l.0 > now));
            state.in_flight.retain(|_, v| {
                v.iter()
                    .any(|(_, at)| now.duration_since(*at) < rules.in_flight_expiry)
            });
        }
        let wait = scopes
            .iter()
            .filter_map(|(key, _)| state.scopes.get(*key)?.lock.as_ref())
            .map(|(until, _)| until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        let in_flight = state.in_flight.entry(in_flight_key.to_owned()).or_default();
        in_flight.retain(|(_, at)| now.duration_since(*at) < rules.in_flight_expiry);
        if in_flight.len() >= rules.in_flight as usize {
            return Err(Duration::from_secs(1));
        }
        in_flight.push((token.to_owned(), now));
        for (key, limit) in scopes {
            let entry = state.scopes.entry((*key).to_owned()).or_insert(Entry {
                count: 0,
                window_ends: now + rules.window,
                lock: None,
            });
            if entry.window_ends <= now {
                entry.count = 0;
                entry.window_ends = now + rules.window;
            }
            entry.count += 1;
            if entry.count >= *limit {
                entry.lock = Some((now + rules.lockout(entry.count - limit), token.to_owned()));
            }
        }
        Ok(())
    }

    pub fn settle(&self, scopes: &[(&str, u32)], in_flight_key: &str, token: &str, success: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let Some(in_flight) = state.in_flight.get_mut(in_flight_key) {
            in_flight.retain(|(t, _)| t != token);
        }
        if !success {
            return;
        }
        let mut scopes = scopes.iter();
        if let Some((account, _)) = scopes.next() {
            state.scopes.remove(*account);
        }
        for (key, _) in scopes {
            if let Some(entry) = state.scopes.get_mut(*key) {
                entry.count = entry.count.saturating_sub(1);
                if entry.lock.as_ref().is_some_and(|(_, t)| t == token) {
                    entry.lock = None;
                }
            }
        }
    }
}
