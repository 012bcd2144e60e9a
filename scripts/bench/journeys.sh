#!/usr/bin/env bash
# 10,000 journey enrollments woken at once (the ignored test
# `crm_journeys::bench::bench_ten_thousand_enrollments_woken_at_once`, a fresh test database): a journey
# wait (a day) → send (SMS through the send path and the in-process messaging stand-in); the enrollments are
# taken to their wait by the job runner, then every wait is made due at one instant and the runner (the
# default `[jobs]` concurrency, a pool of 20) drains them. Prints the time to drain, enrollments per second,
# and the per-enrollment wake-up and send-step latencies (`BENCH` line), with the load average.
#
# Usage: scripts/bench/run journeys
# Environment: BENCH_ENROLLMENTS (default 10000), TEST_DATABASE_URL / TEST_REDIS_URL as for the tests,
# BENCH_CARGO_PROFILE (default dev: the debug test binary; `release` for an optimised one).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
ensure_tools
start_postgres
start_redis
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$PG_ADMIN_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-$REDIS_URL}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
CARGO_PROFILE="${BENCH_CARGO_PROFILE:-dev}"
echo "test binary profile: $CARGO_PROFILE"
PROFILE_ARGS=()
# The default stays `cargo test`'s own profile, so the test suite's build is reused.
[ "$CARGO_PROFILE" = dev ] || PROFILE_ARGS=(--profile "$CARGO_PROFILE")
cargo test "${PROFILE_ARGS[@]}" --locked --test api crm_journeys::bench:: -- --ignored --nocapture --test-threads=1 2>&1 \
    | grep -E 'BENCH|enrolled|test result|panicked'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
