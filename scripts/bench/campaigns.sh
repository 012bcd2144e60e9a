#!/usr/bin/env bash
# The campaign freeze benchmark: 100,000 members of a static segment (a twentieth without a phone, 60% with
# an SMS marketing consent of which a fifth denied) frozen into recipient rows by the real freeze
# (`crm::campaigns::freeze`, one INSERT … SELECT) against a fresh test database. The freeze's cost is
# PostgreSQL's, so the test binary's debug build does not change the figure. Prints the `BENCH` line.
#
# Usage: scripts/bench/run campaigns
# Environment: BENCH_RECIPIENTS (default 100000), TEST_DATABASE_URL / TEST_REDIS_URL as for the tests.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
ensure_tools
start_postgres
start_redis
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$PG_ADMIN_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-$REDIS_URL}"
cargo test --locked --test api crm_campaigns::bench -- --ignored --nocapture 2>&1 | grep -E 'BENCH|seeded|test result'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
