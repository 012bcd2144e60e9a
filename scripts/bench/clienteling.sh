#!/usr/bin/env bash
# Clienteling benchmarks over one brand holding 1M interactions (100k clients by default), at a constant rate
# with latency measured from each request's scheduled send time (loadgen/, no coordinated omission), each
# beside the bare SQL of the same request measured the same way in the same run:
#   - interaction create (`POST …/clients/{id}/interactions`, a WhatsApp product share of two SKUs);
#   - a client's timeline page (`GET …/clients/{id}/interactions?limit=50`, clients with full pages);
#   - enrichment lag: from each create's `created` event to its `enriched` event, written by a separate
#     `concierge worker` running while the creates arrive (the production layout).
# Prints the figures, EXPLAIN (ANALYZE, BUFFERS) of the timeline page, and appends a section to
# docs/benchmarks.md with the load average.
#
# Usage: scripts/bench/run clienteling [seconds per scenario, default 15]
# Environment:
#   BENCH_DB            the database (default concierge_bench_clienteling); created and seeded when missing
#   BENCH_CLIENTS       clients to seed (default 100000; as many CRM profiles are seeded for them)
#   BENCH_INTERACTIONS  interactions to seed (default 1000000)
#   BENCH_CREATE_RATE   creates per second (default 100)
#   BENCH_TIMELINE_RATE timeline pages per second (default 500)
#   BENCH_RESEED=1      drop the database first and seed again (otherwise a seeded one is reused)
#   BENCH_DROP=1        drop the database at the end
#   BENCH_CARGO_PROFILE=dev  debug binaries instead of release
#   BENCH_BIN_DIR       use the binaries (concierge, concierge-sandbox, loadgen) of this folder, no build
#   BENCH_APPEND=0      print the section without appending it to docs/benchmarks.md
#   BENCH_ONLY=seed     seed (or check the seed) and stop: measure later, on a quieter machine
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
DURATION="${1:-15}"
DB="${BENCH_DB:-concierge_bench_clienteling}"
CLIENTS="${BENCH_CLIENTS:-100000}"
INTERACTIONS="${BENCH_INTERACTIONS:-1000000}"
CREATE_RATE="${BENCH_CREATE_RATE:-100}"
TIMELINE_RATE="${BENCH_TIMELINE_RATE:-500}"
BRAND=maison
WORK="$(mktemp -d "${TMPDIR:-/tmp}/concierge-bench-clienteling.XXXXXX")"
SQL_DIR=scripts/bench/clienteling

ensure_tools
start_postgres
start_redis

CARGO_PROFILE="${BENCH_CARGO_PROFILE:-release}"
if [ -n "${BENCH_BIN_DIR:-}" ]; then
    OUT_DIR="$BENCH_BIN_DIR"
else
    OUT_DIR="${CARGO_TARGET_DIR:-target}/$([ "$CARGO_PROFILE" = dev ] && echo debug || echo "$CARGO_PROFILE")"
    log "building the $CARGO_PROFILE binaries (concierge, concierge-sandbox, loadgen)"
    cargo build --profile "$CARGO_PROFILE" --locked -p concierge -p concierge-sandbox -p concierge-loadgen --bins
fi
BIN="$OUT_DIR/concierge"
LOADGEN="$OUT_DIR/loadgen"

DB_URL="$(db_url "$PG_ADMIN_URL" "$DB")"
SANDBOX="127.0.0.1:${BENCH_SANDBOX_PORT:-18092}"
export CONCIERGE_ENV=development
export CONCIERGE__DATABASE__URL="$DB_URL"
export CONCIERGE__DATABASE__MAX_CONNECTIONS=16
export CONCIERGE__REDIS__URL="$REDIS_URL"
export CONCIERGE__REDIS__KEY_PREFIX="bench-clienteling:"
export CONCIERGE__TELEMETRY__FORMAT=json
export CONCIERGE__TELEMETRY__FILTER=warn
# The server and the worker would both bind the metrics port (and another checkout may hold it).
export CONCIERGE__SERVER__METRICS_LISTEN=""
export CONCIERGE__PROVIDERS__SALESFORCE__LOGIN_URL="http://$SANDBOX"
export CONCIERGE__PROVIDERS__SALESFORCE__AUDIENCE="http://$SANDBOX"
export CONCIERGE__PROVIDERS__WHMCS__BASE_URL="http://$SANDBOX"
export CONCIERGE__PROVIDERS__FREEBIT__BASE_URL="http://$SANDBOX"
export CONCIERGE__PROVIDERS__MESSAGING__BASE_URL="http://$SANDBOX/messaging"
export CONCIERGE__PROVIDERS__FACEBOOK__BASE_URL="http://$SANDBOX/facebook"
export CONCIERGE__PROVIDERS__INSTAGRAM__BASE_URL="http://$SANDBOX/instagram"
export CONCIERGE__PROVIDERS__X__BASE_URL="http://$SANDBOX/x"
q() { psql "$DB_URL" -X -tAq -v ON_ERROR_STOP=1 "$@"; }

# The Salesforce stand-in: the catalogue the seed syncs, the orders and Tasks the worker's jobs reach.
"$OUT_DIR/concierge-sandbox" --listen "$SANDBOX" > "$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
PIDS=("$SANDBOX_PID")
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://$SANDBOX/services/data" 2>/dev/null && break; sleep 0.2; done

[ -n "${BENCH_RESEED:-}" ] && psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
create_database "$DB"
"$BIN" seed > "$WORK/demo-seed.log" 2>&1
BRAND_ID="$(q -c "SELECT id FROM brands WHERE slug = '$BRAND'")"
PRODUCTS="$(q -c "SELECT count(*) FROM clienteling_products WHERE brand_id = '$BRAND_ID' AND active")"
[ "$PRODUCTS" -gt 0 ] || die "no synced products of $BRAND: the demo seed could not reach the sandbox ($WORK/demo-seed.log)"
SEEDED="$(q -c "SELECT count(*) FROM clienteling_interactions WHERE brand_id = '$BRAND_ID'")"
SEED_LINE=""
if [ "$SEEDED" -lt "$INTERACTIONS" ]; then
    psql "$PG_ADMIN_URL" -q -c "ALTER DATABASE \"$DB\" SET random_page_cost = 1.1" \
        -c "ALTER DATABASE \"$DB\" SET jit = off" >/dev/null
    STARTED=$(date +%s.%N)
    PROFILES="$(q -c "SELECT count(*) FROM crm_profiles WHERE brand_id = '$BRAND_ID' AND merged_into IS NULL")"
    if [ "$PROFILES" -lt "$CLIENTS" ]; then
        log "seeding $CLIENTS CRM profiles into $BRAND (COPY)"
        "$BIN" seed crm --brand "$BRAND" --profiles "$CLIENTS" --activities "$((CLIENTS * 3))" 2>&1 | tail -1
    fi
    log "seeding $CLIENTS clients and $INTERACTIONS interactions (multi-row INSERT … SELECT)"
    psql "$DB_URL" -X -q -v ON_ERROR_STOP=1 -v brand_id="$BRAND_ID" -v clients="$CLIENTS" \
        -v interactions="$INTERACTIONS" -f "$SQL_DIR/seed.sql"
    LOADED=$(date +%s.%N)
    q -c "VACUUM (ANALYZE) clienteling_clients, clienteling_assignments, clienteling_interactions,
                           clienteling_interaction_events"
    DONE=$(date +%s.%N)
    SEED_LINE="$(awk -v a="$STARTED" -v b="$LOADED" -v c="$DONE" \
        'BEGIN { printf "profiles, clients and interactions loaded in %.1fs, vacuum/analyze %.1fs", b - a, c - b }')"
    log "$SEED_LINE"
else
    log "reusing $DB: $SEEDED interactions already seeded into $BRAND (BENCH_RESEED=1 to start over)"
fi
COUNTS="$(q -c "SELECT (SELECT count(*) FROM clienteling_clients WHERE brand_id = '$BRAND_ID') || ' clients, ' ||
                       (SELECT count(*) FROM clienteling_interactions WHERE brand_id = '$BRAND_ID') || ' interactions, ' ||
                       (SELECT count(*) FROM clienteling_interaction_events WHERE brand_id = '$BRAND_ID') || ' events'")"
MIX="$(q -c "SELECT string_agg(context || ' ' || pct || '%', ', ' ORDER BY n DESC) FROM (
               SELECT context, count(*) AS n, round(100.0 * count(*) / sum(count(*)) OVER ()) AS pct
               FROM clienteling_interactions WHERE brand_id = '$BRAND_ID' GROUP BY context) m")"
log "$DB holds $COUNTS ($MIX)"
if [ "${BENCH_ONLY:-}" = seed ]; then log "seeded only (BENCH_ONLY=seed)"; exit 0; fi

# The demo advisor of the brand's Paris store, whose book the requests read and write.
ADVISOR_EMAIL=advisor@concierge.test
ADVISOR_ID="$(q -c "SELECT id FROM users WHERE email = '$ADVISOR_EMAIL'")"
STORES="$(q -c "SELECT store_ids::text FROM users WHERE id = '$ADVISOR_ID'")"
log "sampling targets in the book of $ADVISOR_EMAIL ($STORES)"
N_CREATES=$(( CREATE_RATE * (DURATION + 4) ))
# Bare creates: fresh ids on every line (a line is used once).
q -c "WITH c AS (SELECT profile_id, store_code FROM clienteling_clients
                 WHERE brand_id = '$BRAND_ID' AND store_code = ANY ('$STORES'::text[]) ORDER BY random() LIMIT 20000),
           p AS (SELECT array_agg(sku) AS skus FROM clienteling_products WHERE brand_id = '$BRAND_ID' AND active)
      SELECT '$BRAND_ID' || E'\t' || c.profile_id || E'\t' || '$ADVISOR_ID' || E'\t' || '$STORES' || E'\t' ||
             gen_random_uuid() || E'\t' || gen_random_uuid() || E'\t' || gen_random_uuid() || E'\t' ||
             gen_random_uuid() || E'\t' ||
             jsonb_build_array(p.skus[1 + (n % cardinality(p.skus))],
                               p.skus[1 + ((n * 7 + 3) % cardinality(p.skus))])::text || E'\t' || c.store_code
      FROM generate_series(1, $N_CREATES) AS n
      JOIN (SELECT c.*, row_number() OVER () AS k, count(*) OVER () AS of FROM c) c ON c.k = 1 + n % c.of, p
      ORDER BY n" > "$WORK/create.tsv"
# Timeline pages are full pages: clients with more than 50 live interactions.
q -c "SELECT '$BRAND_ID' || E'\t' || i.client_id || E'\t' || '$ADVISOR_ID' || E'\t' || '$STORES'
      FROM clienteling_interactions i
      JOIN clienteling_clients c ON c.brand_id = i.brand_id AND c.profile_id = i.client_id
      WHERE i.brand_id = '$BRAND_ID' AND i.deleted_at IS NULL AND c.store_code = ANY ('$STORES'::text[])
      GROUP BY i.client_id HAVING count(*) > 50 ORDER BY random() LIMIT 2000" > "$WORK/timeline.tsv"
[ -s "$WORK/timeline.tsv" ] || die "no client of $STORES has a full timeline page"
log "$(wc -l < "$WORK/create.tsv") create lines, $(wc -l < "$WORK/timeline.tsv") clients with full pages"

# Prints "p50 p99 p999 max ok/requests rate" from loadgen's RESULT line.
figures() {
    awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     printf "%s %s %s %s %s/%s %s\n", v["p50"], v["p99"], v["p999"], v["max"], v["ok"], v["requests"], v["rate"] }'
}
declare -A SQL_FIGURES HTTP_FIGURES
bare() { # name, query file, params, rate [, extra loadgen args]
    local name="$1" file="$2" params="$3" rate="$4"; shift 4
    log "bare SQL: $name at $rate/s for ${DURATION}s"
    SQL_FIGURES[$name]="$("$LOADGEN" sql --label "$name" --rate "$rate" --duration "$DURATION" \
        --database-url "$DB_URL" --query-file "$SQL_DIR/$file" --params "$params" "$@" | figures)"
}
bare create create.sql "$WORK/create.tsv" "$CREATE_RATE" --transaction
bare timeline timeline.sql "$WORK/timeline.tsv" "$TIMELINE_RATE"
# The bare creates' jobs and outbox events are not for the worker started below: only the HTTP creates'
# enrichment is measured.
q -c "DELETE FROM apalis.jobs WHERE status = 'Pending'
        AND job_type IN ('clienteling.interaction.enrich', 'clienteling.interaction.mirror')" \
  -c "DELETE FROM outbox_events WHERE status = 'pending' AND topic LIKE 'clienteling.interaction.%'"

FIRST_CLIENT="$(head -1 "$WORK/timeline.tsv" | cut -f2)"
q -c "EXPLAIN (ANALYZE, BUFFERS) SELECT id, client_id, store_code, advisor_id, channel, context, subject, note,
             metadata, enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at, updated_at
      FROM clienteling_interactions
      WHERE brand_id = '$BRAND_ID' AND client_id = '$FIRST_CLIENT' AND deleted_at IS NULL
      ORDER BY occurred_at DESC, id DESC LIMIT 51" > "$WORK/explain-timeline.txt"
q -c "BEGIN" -c "EXPLAIN (ANALYZE, BUFFERS) UPDATE clienteling_clients
        SET last_contacted_at = (SELECT max(i.occurred_at) FROM clienteling_interactions i
                                 WHERE i.brand_id = '$BRAND_ID' AND i.client_id = '$FIRST_CLIENT' AND i.deleted_at IS NULL)
        WHERE brand_id = '$BRAND_ID' AND profile_id = '$FIRST_CLIENT'" -c "ROLLBACK" > "$WORK/explain-contacted.txt"
TIMELINE_PLAN="$(grep -oE 'Index (Only )?Scan( Backward)? using [a-z_]+' "$WORK/explain-timeline.txt" | head -1); \
$(grep -oE 'Execution Time: [0-9.]+ ms' "$WORK/explain-timeline.txt")"
CONTACTED_PLAN="$(grep -oE 'Index (Only )?Scan( Backward)? using [a-z_]+' "$WORK/explain-contacted.txt" | paste -sd, -); \
$(grep -oE 'Execution Time: [0-9.]+ ms' "$WORK/explain-contacted.txt")"
log "timeline page plan: $TIMELINE_PLAN"
log "last-contact update plan: $CONTACTED_PLAN"

PORT="${BENCH_PORT:-18083}"
URL="http://127.0.0.1:$PORT"
export CONCIERGE__SERVER__PORT="$PORT"
"$BIN" serve --no-jobs > "$WORK/server.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do curl -fsS "$URL/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
token() {
    curl -fsS -H 'content-type: application/json' \
        -d "{\"email\":\"$ADVISOR_EMAIL\",\"password\":\"concierge-advisor\"}" "$URL/api/v1/auth/login" \
        | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
CLIENTS_PATH="/api/v1/brands/$BRAND/clienteling/clients"
awk -F'\t' -v path="$CLIENTS_PATH" '{ printf "%s/%s/interactions\t{\"channel\":\"whatsapp\",\"context\":\"product_share\",\"note\":\"Two pieces for the gala.\",\"metadata\":{\"skus\":%s,\"message\":\"Pensé à vous.\"}}\n", path, $2, $9 }' \
    "$WORK/create.tsv" > "$WORK/http-create.txt"
cut -f2 "$WORK/timeline.tsv" | sed "s#^\(.*\)\$#$CLIENTS_PATH/\1/interactions?limit=50#" > "$WORK/http-timeline.txt"
http() { # name, targets, rate, method
    local name="$1" targets="$2" rate="$3" method="${4:-GET}" access first status
    access="$(token)"
    first="$(head -1 "$targets")"
    if [ "$method" = GET ]; then
        status="$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $access" "$URL$first")"
        [ "$status" = 200 ] || die "GET $first answers $status"
    fi
    log "HTTP: $name at $rate/s for ${DURATION}s"
    HTTP_FIGURES[$name]="$("$LOADGEN" http --label "$name" --rate "$rate" --duration "$DURATION" \
        --url "$URL" --targets "$targets" --method "$method" -H "authorization: Bearer $access" | figures)"
}
http timeline "$WORK/http-timeline.txt" "$TIMELINE_RATE"

# The worker (enrichment, Salesforce mirror, outbox → CRM activities) runs while the creates arrive.
"$BIN" worker > "$WORK/worker.log" 2>&1 &
PIDS+=("$!")
sleep 3
hot() { q -c "SELECT string_agg(relname || ' ' || n_tup_upd || ' updates (' || n_tup_hot_upd || ' HOT)', ', ' ORDER BY relname)
                FROM pg_stat_user_tables WHERE relname IN ('clienteling_clients', 'clienteling_interactions')"; }
HOT_BEFORE="$(hot)"
HTTP_START="$(q -c "SELECT now()")"
http create "$WORK/http-create.txt" "$CREATE_RATE" POST
WRITTEN_SQL="SELECT stream_id, recorded_at FROM clienteling_interaction_events
             WHERE brand_id = '$BRAND_ID' AND type = 'created' AND recorded_at >= '$HTTP_START'
               AND request_id IS DISTINCT FROM 'bench' AND request_id IS DISTINCT FROM 'bench-seed'"
log "waiting for the enrichment of the HTTP creates (at most ${BENCH_LAG_WAIT:-120}s)"
for _ in $(seq "${BENCH_LAG_WAIT:-120}"); do
    LEFT="$(q -c "SELECT count(*) FROM ($WRITTEN_SQL) w WHERE NOT EXISTS (
                      SELECT 1 FROM clienteling_interaction_events e
                      WHERE e.stream_id = w.stream_id AND e.type IN ('enriched', 'enrichment_failed'))")"
    [ "$LEFT" = 0 ] && break
    sleep 1
done
LAG="$(q -c "WITH w AS ($WRITTEN_SQL),
                  l AS (SELECT EXTRACT(EPOCH FROM min(e.recorded_at) - w.recorded_at) * 1000 AS ms
                        FROM w JOIN clienteling_interaction_events e ON e.stream_id = w.stream_id AND e.type = 'enriched'
                        GROUP BY w.stream_id, w.recorded_at)
             SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
                    round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
                    round(max(ms)::numeric, 1) || ' ' || count(*) || '/' || (SELECT count(*) FROM w)
             FROM l")"
FAILED="$(q -c "SELECT count(DISTINCT e.stream_id) FROM ($WRITTEN_SQL) w
                JOIN clienteling_interaction_events e ON e.stream_id = w.stream_id AND e.type = 'enrichment_failed'")"
MIRRORED="$(q -c "SELECT count(DISTINCT e.stream_id) FROM ($WRITTEN_SQL) w
                  JOIN clienteling_interaction_events e ON e.stream_id = w.stream_id AND e.type = 'mirrored'")"
read -r LAG_P50 LAG_P99 LAG_MAX LAG_OK <<< "${LAG:-- - - -}"
HOT_AFTER="$(hot)"
log "enrichment lag: p50 ${LAG_P50} ms, p99 ${LAG_P99} ms, max ${LAG_MAX} ms, $LAG_OK enriched ($FAILED failed once), $MIRRORED mirrored"

row() { # label, name
    local label="$1" name="$2" ratio
    read -r s_p50 s_p99 s_p999 _ s_ok s_rate <<< "${SQL_FIGURES[$name]:-- - - - - -}"
    read -r h_p50 h_p99 h_p999 _ h_ok h_rate <<< "${HTTP_FIGURES[$name]:-- - - - - -}"
    ratio=$(awk -v a="$h_p99" -v b="$s_p99" 'BEGIN { printf (b > 0 ? "%.1f×" : "—"), a / b }')
    echo "| $label | $h_p50 | $h_p99 | $h_p999 | $h_ok | $h_rate | $s_p50 | $s_p99 | $s_ok | $ratio |"
}
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
SECTION="$WORK/section.md"
{
    echo
    echo "## $(date -u +%Y-%m-%d\ %H:%M) UTC — clienteling, commit $COMMIT, $CARGO_PROFILE build, $(nproc) cores ($CPU), ${DURATION}s per scenario"
    echo
    echo "\`scripts/bench/run clienteling\`: brand \`$BRAND\` holding $COUNTS ($MIX); loadgen at a"
    echo "constant rate, latency from each request's scheduled send time (ms), as the demo advisor of $STORES; the"
    echo "bare SQL is the same request's statements through sqlx at the same rate in the same run. **Load average at"
    echo "the end: $LOAD** (shared machine: figures measured under that load, not targets met)."
    [ -n "$SEED_LINE" ] && echo "Seed: $SEED_LINE."
    echo
    echo "| scenario | HTTP p50 | HTTP p99 | HTTP p99.9 | HTTP ok | HTTP req/s | SQL p50 | SQL p99 | SQL ok | p99 ratio |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    row "interaction create (product share), $CREATE_RATE/s" create
    row "timeline page of 50, $TIMELINE_RATE/s" timeline
    echo
    echo "Enrichment lag (\`created\` → \`enriched\`, a separate worker, during the HTTP creates): p50 $LAG_P50 ms,"
    echo "p99 $LAG_P99 ms, max $LAG_MAX ms; $LAG_OK enriched, $FAILED failed at least once, $MIRRORED mirrored to the stand-in."
    echo "Plans: timeline page — $TIMELINE_PLAN; last-contact update — $CONTACTED_PLAN."
    echo "Row updates before the HTTP creates: $HOT_BEFORE; after them and their enrichment: $HOT_AFTER."
} > "$SECTION"
cat "$SECTION"
[ "${BENCH_APPEND:-1}" = 0 ] || cat "$SECTION" >> docs/benchmarks.md
log "work files (targets, EXPLAIN, server and worker logs): $WORK"
if [ -n "${BENCH_DROP:-}" ]; then
    cleanup
    sleep 1
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    log "dropped $DB"
fi
