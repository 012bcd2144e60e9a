//! A polling strategy that always re-arms its timer.
//!
//! apalis 1.0's `IntervalStrategy` replaces its timer when it fires without polling the new one, so no
//! wake-up is registered for the next tick: an idle worker then sleeps until its 30 s heartbeat, and a
//! retry due in 100 ms waits half a minute (seen in our retry test under load). tokio's `Interval`
//! registers the waker on every poll, so draining its ready ticks always leaves the next one armed.

use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Interval, MissedTickBehavior};

pub struct Ticker {
    interval: Option<Interval>,
    period: Duration,
}

impl Ticker {
    pub fn every(period: Duration) -> Self {
        Self {
            interval: None,
            period: period.max(Duration::from_millis(1)),
        }
    }
}

impl PollStrategy for Ticker {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        let period = self.period;
        // Created lazily: the worker polls from inside the runtime, construction may not.
        let interval = self.interval.get_or_insert_with(|| {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let mut fired = false;
        while interval.poll_tick(cx).is_ready() {
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
