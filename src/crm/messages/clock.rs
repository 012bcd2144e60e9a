//! The time the send path and the throttle run at: the system clock, or an instant the tests set and move
//! (quiet hours at 23:00 in Tokyo, a token bucket over ten seconds, in milliseconds of real time).

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Default)]
pub struct Clock(Arc<RwLock<Option<DateTime<Utc>>>>);

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let fixed = match self.0.read() {
            Ok(fixed) => *fixed,
            Err(poisoned) => *poisoned.into_inner(),
        };
        fixed.unwrap_or_else(Utc::now)
    }

    /// Stops the clock at `at` (tests).
    pub fn set(&self, at: DateTime<Utc>) {
        match self.0.write() {
            Ok(mut fixed) => *fixed = Some(at),
            Err(poisoned) => *poisoned.into_inner() = Some(at),
        }
    }

    /// Moves a stopped clock on (from now when it runs).
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by);
    }
}
