//! The constant-rate schedule and the latency it records. Request `i` is due at `start + i / rate`; a
//! thread of its own (std sleeps have microsecond resolution, tokio's timer has millisecond resolution)
//! releases each request at its due time, and its latency is measured from that due time, not from when it
//! actually went out: when the target stalls, every request the stall delayed is counted as slow, which is
//! what a user at that rate would see (Gil Tene's "coordinated omission").

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc};

/// What one request came back with: its label (`200`, `404`, `error: …`) and whether it counts as a success.
pub struct Outcome {
    pub label: String,
    pub ok: bool,
}

pub struct Plan {
    pub rate: f64,
    pub duration: Duration,
    /// Requests due during the warm-up are sent but not recorded.
    pub warmup: Duration,
    /// At most this many requests outstanding; a request beyond it waits, and the wait counts.
    pub max_in_flight: usize,
}

pub struct Stats {
    /// From the scheduled send time to the answer (what the targets are about).
    pub latency: Histogram<u64>,
    /// From the actual send to the answer (what a closed-loop tool such as wrk reports).
    pub service: Histogram<u64>,
    pub outcomes: BTreeMap<String, u64>,
    pub ok: u64,
    pub recorded: u64,
    pub elapsed: Duration,
    /// How far behind schedule the sender fell at most (large values mean the load generator itself could not
    /// keep the rate).
    pub max_send_lag: Duration,
}

impl Stats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            service: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            outcomes: BTreeMap::new(),
            ok: 0,
            recorded: 0,
            elapsed: Duration::ZERO,
            max_send_lag: Duration::ZERO,
        })
    }
}

/// Runs `request(i)` for every scheduled `i` and records what they took.
pub async fn run<F, Fut>(plan: &Plan, request: F) -> anyhow::Result<Stats>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    anyhow::ensure!(
        plan.rate > 0.0 && plan.rate.is_finite(),
        "--rate must be positive"
    );
    let warmup = (plan.warmup.as_secs_f64() * plan.rate).round() as u64;
    let total = warmup + (plan.duration.as_secs_f64() * plan.rate).round() as u64;
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let stats = Arc::new(Mutex::new(Stats::new()?));
    let request = Arc::new(request);
    let in_flight = Arc::new(Semaphore::new(plan.max_in_flight.max(1)));

    let (due_tx, mut due_rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let start = Instant::now() + Duration::from_millis(50);
    let ticker = std::thread::spawn(move || {
        for i in 0..total {
            let due = start + period.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send((i, due)).is_err() {
                return;
            }
        }
    });

    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    while let Some((i, due)) = due_rx.recv().await {
        let permit = in_flight.clone().acquire_owned().await?;
        let stats = stats.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = request(i).await;
            let done = Instant::now();
            drop(permit);
            if i < warmup {
                return;
            }
            let Ok(mut stats) = stats.lock() else {
                return;
            };
            let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
            stats.latency.saturating_record(micros(done - due));
            stats.service.saturating_record(micros(done - sent));
            stats.max_send_lag = stats.max_send_lag.max(sent - due);
            stats.recorded += 1;
            stats.ok += u64::from(outcome.ok);
            *stats.outcomes.entry(outcome.label).or_default() += 1;
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = start.elapsed();
    ticker
        .join()
        .map_err(|_| anyhow::anyhow!("the schedule thread panicked"))?;
    let mut stats = Arc::try_unwrap(stats)
        .map_err(|_| anyhow::anyhow!("requests still running"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a request panicked while recording"))?;
    stats.elapsed = elapsed.saturating_sub(plan.warmup);
    Ok(stats)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stall_counts_against_every_request_it_delayed() {
        let plan = Plan {
            rate: 100.0,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            max_in_flight: 1,
        };
        let stats = run(&plan, |i| async move {
            if i == 10 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Outcome {
                label: "ok".to_owned(),
                ok: true,
            }
        })
        .await
        .unwrap();
        assert_eq!(stats.recorded, 100);
        assert_eq!(stats.ok, 100);
        // Requests 11..=39 were due during the stall and waited for it: a closed-loop tool would report one
        // slow request, a constant-rate one reports them all.
        let slow = stats.latency.count_between(50_000, 10_000_000);
        assert!(slow >= 20, "{slow} requests over 50 ms");
        assert!(stats.service.count_between(50_000, 10_000_000) <= 2);
    }

    #[tokio::test]
    async fn the_warmup_is_sent_but_not_recorded() {
        let plan = Plan {
            rate: 200.0,
            duration: Duration::from_millis(250),
            warmup: Duration::from_millis(100),
            max_in_flight: 8,
        };
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = sent.clone();
        let stats = run(&plan, move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async {
                Outcome {
                    label: "500".to_owned(),
                    ok: false,
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(sent.load(std::sync::atomic::Ordering::Relaxed), 70);
        assert_eq!(stats.recorded, 50);
        assert_eq!(stats.ok, 0);
        assert_eq!(stats.outcomes.get("500"), Some(&50));
    }
}
