#!/usr/bin/env bash
# The campaign benchmarks, one after the other (the ignored tests `crm_campaigns::bench::*`, each on a fresh
# test database):
# - the freeze: 100,000 members of a static segment (a twentieth without a phone, 60% with an SMS marketing
#   consent of which a fifth denied) frozen into recipient rows by the real freeze (`crm::campaigns::freeze`,
#   one INSERT … SELECT). Its cost is PostgreSQL's, so the test binary's debug build does not change it.
# - the send rate: 5,000 reachable members delivered at a campaign throttle of 500/s by the real delivery
#   run through the send path and the in-process messaging stand-in (the debug build's own cost is in the
#   per-message latency); the achieved rate against the throttle and the per-message p50/p99.
# Prints the `BENCH` lines and the load average before and after (record a loaded machine as loaded).
#
# Usage: scripts/bench/run campaigns [freeze|send]
# Environment: BENCH_RECIPIENTS (default 100000), BENCH_SEND_MESSAGES (default 5000), BENCH_SEND_RATE
# (default 500), TEST_DATABASE_URL / TEST_REDIS_URL as for the tests, BENCH_CARGO_PROFILE (default dev: the
# debug test binary; `release` builds the test binary optimised — long on 2 cores, but the send rate's
# per-message cost is the build's).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
ensure_tools
start_postgres
start_redis
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$PG_ADMIN_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-$REDIS_URL}"
case "${1:-}" in
    freeze) FILTER=crm_campaigns::bench::bench_freeze ;;
    send) FILTER=crm_campaigns::bench::bench_send ;;
    *) FILTER=crm_campaigns::bench:: ;;
esac
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
CARGO_PROFILE="${BENCH_CARGO_PROFILE:-dev}"
echo "test binary profile: $CARGO_PROFILE"
PROFILE_ARGS=()
# The default stays `cargo test`'s own profile, so the test suite's build is reused.
[ "$CARGO_PROFILE" = dev ] || PROFILE_ARGS=(--profile "$CARGO_PROFILE")
cargo test "${PROFILE_ARGS[@]}" --locked --test api "$FILTER" -- --ignored --nocapture --test-threads=1 2>&1 \
    | grep -E 'BENCH|seeded|enrolled|test result|panicked'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
