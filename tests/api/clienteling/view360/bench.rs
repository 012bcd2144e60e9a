//! The SPEC §5 benchmark, run by `scripts/bench/run view360` (ignored otherwise): the whole page with 50 ms
//! in each of four parts — Salesforce through the sandbox's latency fault on its query (the real client,
//! the real wire), and `kpis`, `timeline` and `scores` through `[clienteling.view360]
//! simulated_latency_ms` (a sleep before the part fetches, standing in for a remote source). Fetched one
//! after the other that is 200 ms; concurrently the page should take ≈ 50 ms plus its own work.

use std::time::{Duration, Instant};

use concierge_sandbox::System;
use serde_json::json;

use super::{ok, view, world};
use crate::helpers::{Sandboxed, spawn_sandboxed_app_with};

const LATENCY_MS: u64 = 50;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::test]
#[ignore = "a benchmark: scripts/bench/run view360"]
async fn bench_client_360_with_four_parts_at_50_ms() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.database.max_connections = 20;
        for part in ["kpis", "timeline", "scores"] {
            settings
                .clienteling
                .view360
                .simulated_latency_ms
                .insert(part.to_owned(), LATENCY_MS);
        }
    }))
    .await;
    let (advisor, claire) = world(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "latency_ms": LATENCY_MS }),
    );
    for _ in 0..10 {
        let (_, page) = view(&app, &advisor.token, &claire, "").await;
        ok(&page, "salesforce");
    }
    let requests = env("BENCH_REQUESTS", 300);
    for concurrency in [1, env("BENCH_CONCURRENCY", 4)] {
        let started = Instant::now();
        let mut latencies = Vec::with_capacity(requests);
        let mut degraded = 0;
        let per_worker = requests / concurrency;
        let runs = futures::future::join_all((0..concurrency).map(|_| async {
            let mut mine = Vec::with_capacity(per_worker);
            let mut bad = 0;
            for _ in 0..per_worker {
                let at = Instant::now();
                let (status, page) = view(&app, &advisor.token, &claire, "").await;
                mine.push(at.elapsed());
                let all_ok = status == 200
                    && [
                        "header",
                        "kpis",
                        "timeline",
                        "scores",
                        "consent",
                        "salesforce",
                        "appointments",
                    ]
                    .iter()
                    .all(|part| page[part]["status"] == "ok");
                if !all_ok {
                    bad += 1;
                }
            }
            (mine, bad)
        }))
        .await;
        for (mine, bad) in runs {
            latencies.extend(mine);
            degraded += bad;
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        println!(
            "BENCH view360 concurrency={concurrency} requests={} p50={:.1}ms p99={:.1}ms throughput={:.1}req/s not_all_ok={degraded} (4 parts × {LATENCY_MS} ms: sequential would be ≥ {} ms)",
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.len() as f64 / elapsed,
            4 * LATENCY_MS,
        );
    }
}
