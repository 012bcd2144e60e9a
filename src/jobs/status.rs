use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Lets `/health/ready` tell whether this process's job runner is alive. The runner's loops beat it.
#[derive(Clone)]
pub struct JobsStatus {
    enabled: bool,
    last_beat_ms: Arc<AtomicI64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerState {
    Disabled,
    Starting,
    Running,
    Stalled(Duration),
}

/// A runner that has not beaten for this long is reported down.
const STALL_AFTER: Duration = Duration::from_secs(30);

impl JobsStatus {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            last_beat_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    pub fn beat(&self) {
        self.last_beat_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn state(&self) -> RunnerState {
        if !self.enabled {
            return RunnerState::Disabled;
        }
        let last = self.last_beat_ms.load(Ordering::Relaxed);
        if last == 0 {
            return RunnerState::Starting;
        }
        let silent = Duration::from_millis(u64::try_from(now_ms() - last).unwrap_or(0));
        if silent > STALL_AFTER {
            RunnerState::Stalled(silent)
        } else {
            RunnerState::Running
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
