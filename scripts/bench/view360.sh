#!/usr/bin/env bash
# The client 360° benchmark (SPEC §5: 4 provider-backed parts at 50 ms each answer in ≈ 55 ms, not 200 ms):
# the whole page of a client with a Salesforce contact, 50 ms injected into the Salesforce sandbox's query
# (a latency fault: the real client, the real wire) and into the kpis, timeline and scores parts
# (`[clienteling.view360] simulated_latency_ms`, a sleep before the part fetches). Runs the ignored test
# `clienteling::view360::bench` (a debug test binary against a fresh test database, in-process sandbox) at
# concurrency 1 and BENCH_CONCURRENCY; prints the `BENCH` lines (p50, p99, throughput) and the load average.
#
# Usage: scripts/bench/run view360
# Environment: BENCH_REQUESTS (default 300), BENCH_CONCURRENCY (default 4), TEST_DATABASE_URL /
# TEST_REDIS_URL as for the tests.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
ensure_tools
start_postgres
start_redis
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$PG_ADMIN_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-$REDIS_URL}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo test --locked --test api clienteling::view360::bench -- --ignored --nocapture 2>&1 | grep -E 'BENCH|test result'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
