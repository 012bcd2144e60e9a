#!/usr/bin/env bash
# CRM benchmarks over a seeded brand (1M profiles, 10M activities by default), at a constant rate with
# latency measured from each request's scheduled send time (loadgen/, no coordinated omission), each beside
# the bare SQL of the same request measured the same way in the same run. Appends a section to
# docs/benchmarks.md.
#
# Usage: scripts/bench/run crm [seconds per scenario, default 15]
# Environment:
#   BENCH_DB          the database (default concierge_bench_crm); created and seeded when missing
#   BENCH_PROFILES    profiles to seed (default 1000000)
#   BENCH_ACTIVITIES  activities to seed (default 10000000)
#   BENCH_RESEED=1    drop the database first and seed again (otherwise a seeded one is reused)
#   BENCH_DROP=1      drop the database at the end (frees ~5 GB at the default size)
#   BENCH_ONLY=sql    only the bare-SQL parts (no server), e.g. before the endpoints exist
#   BENCH_CARGO_PROFILE=dev  debug binaries instead of release (when a release build is out of reach)
#   BENCH_SCENARIOS   only these scenarios, e.g. "ingest-single ingest-batch" (names: by-id by-identifier
#                     timeline ingest-single ingest-batch session); the others show as not run
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
DURATION="${1:-15}"
DB="${BENCH_DB:-concierge_bench_crm}"
PROFILES="${BENCH_PROFILES:-1000000}"
ACTIVITIES="${BENCH_ACTIVITIES:-10000000}"
BRAND=maison
WORK="$(mktemp -d "${TMPDIR:-/tmp}/concierge-bench-crm.XXXXXX")"

ensure_tools
start_postgres
start_redis

CARGO_PROFILE="${BENCH_CARGO_PROFILE:-release}"
OUT_DIR="${CARGO_TARGET_DIR:-target}/$([ "$CARGO_PROFILE" = dev ] && echo debug || echo "$CARGO_PROFILE")"
log "building the $CARGO_PROFILE binaries (concierge, loadgen)"
cargo build --profile "$CARGO_PROFILE" --locked -p concierge -p concierge-loadgen --bins
BIN="$OUT_DIR/concierge"
LOADGEN="$OUT_DIR/loadgen"

DB_URL="$(db_url "$PG_ADMIN_URL" "$DB")"
export CONCIERGE_ENV=development
export CONCIERGE__DATABASE__URL="$DB_URL"
export CONCIERGE__DATABASE__MAX_CONNECTIONS=32
export CONCIERGE__REDIS__URL="$REDIS_URL"
export CONCIERGE__REDIS__KEY_PREFIX="bench-crm:"
export CONCIERGE__TELEMETRY__FORMAT=json
export CONCIERGE__TELEMETRY__FILTER=warn
q() { psql "$DB_URL" -X -tAq -v ON_ERROR_STOP=1 "$@"; }

[ -n "${BENCH_RESEED:-}" ] && psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
create_database "$DB"
"$BIN" seed >/dev/null 2>&1
SEEDED="$(q -c "SELECT COALESCE(sum(r.profiles), 0) FROM crm_seed_runs r JOIN brands b ON b.id = r.brand_id
                WHERE b.slug = '$BRAND' AND r.finished_at IS NOT NULL")"
SEED_LINE=""
if [ "$SEEDED" -lt "$PROFILES" ]; then
    # Planner and autovacuum settings for this database only: SSD-like random reads, no JIT for short
    # queries, and autovacuum that keeps up with the ingest scenario's inserts and counter updates.
    psql "$PG_ADMIN_URL" -q -c "ALTER DATABASE \"$DB\" SET random_page_cost = 1.1" \
        -c "ALTER DATABASE \"$DB\" SET jit = off" >/dev/null
    q -c "ALTER TABLE crm_activities SET (autovacuum_vacuum_insert_scale_factor = 0.02,
                                         autovacuum_analyze_scale_factor = 0.02)" \
      -c "ALTER TABLE crm_profiles SET (autovacuum_vacuum_scale_factor = 0.02,
                                       autovacuum_analyze_scale_factor = 0.02)"
    log "seeding $PROFILES profiles and $ACTIVITIES activities into $BRAND"
    STARTED=$(date +%s.%N)
    "$BIN" seed crm --brand "$BRAND" --profiles "$PROFILES" --activities "$ACTIVITIES" 2>&1 | tee "$WORK/seed.log"
    SEED_SECS=$(awk -v now="$(date +%s.%N)" -v start="$STARTED" 'BEGIN { printf "%.0f", now - start }')
    SEED_LINE="$(tail -1 "$WORK/seed.log") — ${SEED_SECS}s wall in all"
else
    log "reusing $DB: $SEEDED profiles already seeded into $BRAND (BENCH_RESEED=1 to start over)"
fi
BRAND_ID="$(q -c "SELECT id FROM brands WHERE slug = '$BRAND'")"
COUNTS="$(q -c "SELECT (SELECT count(*) FROM crm_profiles WHERE brand_id = '$BRAND_ID') || ' profiles, ' ||
                       (SELECT count(*) FROM crm_activities WHERE brand_id = '$BRAND_ID') || ' activities'")"
log "$DB holds $COUNTS"

# The reference segment of docs/crm-seed.md, counted with its time (no index serves it: a sequential scan).
SEGMENT_SQL="SELECT count(*) FROM crm_profiles p WHERE p.brand_id = '$BRAND_ID' AND p.merged_into IS NULL
  AND p.tier IN ('gold', 'platinum') AND p.country = 'FR'
  AND EXISTS (SELECT 1 FROM crm_activities a WHERE a.brand_id = p.brand_id AND a.profile_id = p.id
              AND a.type = 'purchase' AND a.occurred_at > now() - interval '180 days')"
SEGMENT="$(q -c '\timing on' -c "$SEGMENT_SQL" | paste -sd' ')"
log "reference segment: $SEGMENT"

log "sampling targets"
q -c "SELECT '$BRAND_ID' || E'\t' || id FROM crm_profiles WHERE brand_id = '$BRAND_ID' AND merged_into IS NULL
      ORDER BY random() LIMIT 20000" > "$WORK/ids.tsv"
q -c "SELECT '$BRAND_ID' || E'\t' || kind || E'\t' || value FROM crm_identifiers WHERE brand_id = '$BRAND_ID'
      ORDER BY random() LIMIT 20000" > "$WORK/identifiers.tsv"
# Timeline pages are full pages: profiles with at least 50 activities.
q -c "SELECT '$BRAND_ID' || E'\t' || id FROM crm_profiles WHERE brand_id = '$BRAND_ID' AND merged_into IS NULL
        AND (SELECT sum(value::bigint) FROM jsonb_each_text(activity_counts)) >= 50
      ORDER BY random() LIMIT 2000" > "$WORK/heavy.tsv"
RUN_TAG="b$(date +%s)"
# Events for existing profiles (by email): page views, purchases, email opens; unique event ids per run.
events_sql() { # $1 events per batch, $2 batches, $3 output kind (http|sql)
    cat <<SQL
WITH pick AS (
    SELECT value AS email, row_number() OVER () - 1 AS n
    FROM (SELECT value FROM crm_identifiers WHERE brand_id = '$BRAND_ID' AND kind = 'email'
          ORDER BY random() LIMIT $(($1 * $2))) s
), ev AS (
    SELECT n / $1 AS batch, n, email,
           (ARRAY['page_view', 'page_view', 'page_view', 'email_opened', 'purchase'])[1 + n % 5] AS type,
           '$RUN_TAG-$3-$1-' || n AS event_id
    FROM pick
), props AS (
    SELECT ev.*, CASE type
        WHEN 'purchase' THEN jsonb_build_object('order_id', event_id, 'amount', '450.00', 'currency', 'EUR',
             'store', 'paris-1', 'items', jsonb_build_array(jsonb_build_object('sku', 'SLG-WALLET-01', 'quantity', 1, 'price', '450.00')))
        WHEN 'email_opened' THEN jsonb_build_object('campaign_id', 'c07')
        ELSE jsonb_build_object('url', 'https://maison.example/collections/leather') END AS properties
    FROM ev
)
SELECT $( if [ "$3" = http ]; then
    echo "'/api/v1/brands/$BRAND/crm/events' || E'\t' || jsonb_agg(jsonb_build_object('id', event_id, 'type', type,
           'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
           'identifiers', jsonb_build_array(jsonb_build_object('kind', 'email', 'value', email)),
           'properties', properties) ORDER BY n)::text"
else
    echo "'$BRAND_ID' || E'\t' || '{' || string_agg(email, ',' ORDER BY n) || '}' || E'\t' ||
           '{' || string_agg(type, ',' ORDER BY n) || '}' || E'\t' || '{' || string_agg(event_id, ',' ORDER BY n) || '}'
           || E'\t' || jsonb_agg(properties ORDER BY n)::text"
fi )
FROM props GROUP BY batch ORDER BY batch
SQL
}
SINGLE_RATE=2000
BATCH=100
BATCH_RATE=$((SINGLE_RATE / BATCH))
N_SINGLE=$(( SINGLE_RATE * (DURATION + 3) ))
N_BATCHES=$(( BATCH_RATE * (DURATION + 3) ))
q -c "$(events_sql 1 "$N_SINGLE" sql)" > "$WORK/ingest-single.tsv"
q -c "$(events_sql "$BATCH" "$N_BATCHES" sql)" > "$WORK/ingest-batch.tsv"

# Prints "p50 p99 p999 max ok/requests" from loadgen's RESULT line.
figures() {
    awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     printf "%s %s %s %s %s/%s\n", v["p50"], v["p99"], v["p999"], v["max"], v["ok"], v["requests"] }'
}
declare -A SQL_FIGURES HTTP_FIGURES
wanted() { [ -z "${BENCH_SCENARIOS:-}" ] || [[ " $BENCH_SCENARIOS " == *" $1 "* ]]; }
bare() { # name, query file, params, rate [, extra loadgen args]
    local name="$1" file="$2" params="$3" rate="$4"; shift 4
    wanted "$name" || return 0
    log "bare SQL: $name at $rate/s for ${DURATION}s"
    SQL_FIGURES[$name]="$("$LOADGEN" sql --label "$name" --rate "$rate" --duration "$DURATION" \
        --database-url "$DB_URL" --query-file "scripts/bench/crm/$file" --params "$params" "$@" | figures)"
}
bare by-id profile_by_id.sql "$WORK/ids.tsv" 1000
bare by-identifier profile_by_identifier.sql "$WORK/identifiers.tsv" 1000
bare timeline timeline.sql "$WORK/heavy.tsv" 1000
bare ingest-single ingest.sql "$WORK/ingest-single.tsv" "$SINGLE_RATE" --transaction
bare ingest-batch ingest.sql "$WORK/ingest-batch.tsv" "$BATCH_RATE" --transaction
# The bare ingest leaves autovacuum work behind (crm_profiles passes its 2% threshold of updated rows):
# done now, before the look-ups, or a vacuum of the profiles takes the CPU in the middle of a measured
# scenario (the 2026-12-02 run: by-identifier p99 63 ms while the loadgen itself lagged 29 ms).
VACUUM_STARTED=$(date +%s.%N)
q -c "VACUUM (ANALYZE) crm_profiles, crm_activities, crm_identifiers, crm_consents"
VACUUM_SECS=$(awk -v now="$(date +%s.%N)" -v start="$VACUUM_STARTED" 'BEGIN { printf "%.1f", now - start }')
log "vacuum after the bare ingest: ${VACUUM_SECS}s"
HOT="$(q -c "SELECT n_tup_upd || ' updates, ' || n_tup_hot_upd || ' HOT' FROM pg_stat_user_tables WHERE relname = 'crm_profiles'")"
q -c "EXPLAIN (ANALYZE, BUFFERS) $(sed -n '/^SELECT id, type/,$p' scripts/bench/crm/timeline.sql \
      | sed "s/\$1::uuid/'$BRAND_ID'/; s/\$2::uuid/'$(head -1 "$WORK/heavy.tsv" | cut -f2)'/")" > "$WORK/explain-timeline.txt"

if [ "${BENCH_ONLY:-}" != sql ]; then
    PORT="${BENCH_PORT:-18081}"
    URL="http://127.0.0.1:$PORT"
    export CONCIERGE__SERVER__PORT="$PORT"
    "$BIN" serve --no-jobs > "$WORK/server.log" 2>&1 &
    SERVER=$!
    trap 'kill "$SERVER" 2>/dev/null || true' EXIT
    for _ in $(seq 100); do curl -fsS "$URL/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    # The demo marketer of maison (seeded by `concierge seed`); a fresh token per scenario (15 minutes).
    token() {
        curl -fsS -H 'content-type: application/json' \
            -d '{"email":"marketer@concierge.test","password":"concierge-marketer"}' "$URL/api/v1/auth/login" \
            | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
    }
    # Dynamic segments live during ingest (issue 12: 20, BENCH_SEGMENTS to change), so the segments hook
    # has work on every event: activity rules over the ingested types, scores (every event), traits and
    # consent (not triggered by these trait-less events). Created empty; an existing slug is kept.
    SEGMENTS_LIVE="${BENCH_SEGMENTS:-20}"
    RULES=(
        '{"activity": "purchase", "count": {"gte": 1}, "within": {"days": 30}}'
        '{"activity": "page_view", "count": {"gte": 3}, "within": {"days": 7}}'
        '{"activity": "email_opened", "count": {"gte": 1}, "within": {"days": 14}}'
        '{"all": [{"attribute": "tier", "op": "in", "value": ["gold", "platinum"]}, {"activity": "purchase", "count": {"gte": 1}, "within": {"days": 30}}, {"consent": {"channel": "email", "purpose": "marketing"}, "is": "granted"}]}'
        '{"score": "churn_risk", "op": "gte", "value": 60}'
        '{"score": "engagement", "op": "gte", "value": 40}'
        '{"activity": "purchase", "sum": {"property": "amount", "gte": 1000}, "within": {"days": 90}}'
        '{"attribute": "country", "op": "eq", "value": "FR"}'
        '{"consent": {"channel": "sms", "purpose": "marketing"}, "is": "granted"}'
        '{"any": [{"activity": "page_view", "count": {"gte": 10}, "within": {"days": 30}}, {"attribute": "lifetime_value", "op": "gte", "value": 5000}]}'
    )
    MARKETER="$(token)"
    for n in $(seq 1 "$SEGMENTS_LIVE"); do
        RULE="${RULES[$(( (n - 1) % ${#RULES[@]} ))]}"
        curl -s -o /dev/null -X POST -H "authorization: Bearer $MARKETER" -H 'content-type: application/json' \
            -d "{\"slug\": \"bench-hook-$n\", \"name\": \"Bench hook $n\", \"rule\": $RULE}" \
            "$URL/api/v1/brands/$BRAND/crm/segments"
    done
    SEGMENTS_LINE="$(q -c "SELECT count(*) FILTER (WHERE kind = 'dynamic') || ' dynamic segments ('
                                 || count(*) FILTER (WHERE kind = 'dynamic' AND '*' = ANY (triggers)) || ' re-evaluated on every event)'
                          FROM crm_segments WHERE brand_id = '$BRAND_ID' AND deleted_at IS NULL")"
    log "live during ingest: $SEGMENTS_LINE"
    cut -f2 "$WORK/ids.tsv" | sed "s#^#/api/v1/brands/$BRAND/crm/profiles/#" > "$WORK/http-ids.txt"
    # The same identifiers, percent-encoded (emails carry @, phones +).
    sed -E 's/%/%25/g; s/@/%40/g; s/\+/%2B/g; s/:/%3A/g; s/ /%20/g' "$WORK/identifiers.tsv" \
        | awk -F'\t' -v brand="$BRAND" '{ printf "/api/v1/brands/%s/crm/profiles?identifier=%s%%3A%s\n", brand, $2, $3 }' \
        > "$WORK/http-identifiers.txt"
    cut -f2 "$WORK/heavy.tsv" | sed "s#^\(.*\)\$#/api/v1/brands/$BRAND/crm/profiles/\1/activities?limit=50#" \
        > "$WORK/http-timeline.txt"
    q -c "$(events_sql 1 "$N_SINGLE" http)" > "$WORK/http-ingest-single.txt"
    q -c "$(events_sql "$BATCH" "$N_BATCHES" http)" > "$WORK/http-ingest-batch.txt"
    http() { # name, targets, rate, method
        local name="$1" targets="$2" rate="$3" method="${4:-GET}" first status access
        wanted "$name" || { HTTP_FIGURES[$name]="not run (BENCH_SCENARIOS)"; return 0; }
        access="$(token)"
        first="$(head -1 "$targets")"
        if [ "$method" = POST ]; then
            status="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $access" \
                -H 'content-type: application/json' --data "${first#*$'\t'}" "$URL${first%%$'\t'*}")"
        else
            status="$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $access" "$URL$first")"
        fi
        if [ "$status" = 404 ] || [ "$status" = 405 ]; then
            log "skipping $name: $method ${first%%$'\t'*} answers $status (endpoint not merged yet)"
            HTTP_FIGURES[$name]="skipped ($status: endpoint not merged yet)"
            return
        fi
        log "HTTP: $name at $rate/s for ${DURATION}s"
        HTTP_FIGURES[$name]="$("$LOADGEN" http --label "$name" --rate "$rate" --duration "$DURATION" \
            --url "$URL" --targets "$targets" --method "$method" -H "authorization: Bearer $access" | figures)"
    }
    http by-id "$WORK/http-ids.txt" 1000
    http by-identifier "$WORK/http-identifiers.txt" 1000
    http timeline "$WORK/http-timeline.txt" 1000
    http ingest-single "$WORK/http-ingest-single.txt" "$SINGLE_RATE" POST
    http ingest-batch "$WORK/http-ingest-batch.txt" "$BATCH_RATE" POST
    ACCEPTED="$(q -c "SELECT count(*) FROM crm_activities WHERE brand_id = '$BRAND_ID' AND event_id LIKE '$RUN_TAG-http-%'")"
    # The part of every request before its handler: the session check, alone, on the marketer's sessions.
    q -c "SELECT s.id || E'\t' || s.user_id FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE u.email = 'marketer@concierge.test' AND s.revoked_at IS NULL" > "$WORK/sessions.tsv"
    bare session session_check.sql "$WORK/sessions.tsv" 1000
fi

row() { # label, name, target
    local label="$1" name="$2" target="$3" h s hp99 sp99 ratio
    read -r s_p50 s_p99 s_p999 _ s_ok <<< "${SQL_FIGURES[$name]:-- - - - -}"
    h="${HTTP_FIGURES[$name]:-not run (BENCH_ONLY=sql)}"
    if [[ "$h" == skipped* || "$h" == not* ]]; then
        echo "| $label | $h | | | | $s_p50 | $s_p99 | $s_ok | — | $target |"
    else
        read -r h_p50 h_p99 h_p999 _ h_ok <<< "$h"
        ratio=$(awk -v a="$h_p99" -v b="$s_p99" 'BEGIN { printf (b > 0 ? "%.1f×" : "—"), a / b }')
        echo "| $label | $h_p50 | $h_p99 | $h_p999 | $h_ok | $s_p50 | $s_p99 | $s_ok | $ratio | $target |"
    fi
}
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
{
    echo
    echo "## $(date -u +%Y-%m-%d\ %H:%M) UTC — CRM, commit $COMMIT, $CARGO_PROFILE build, $(nproc) cores ($CPU), ${DURATION}s per scenario"
    echo
    echo "\`scripts/bench/run crm\`: brand \`$BRAND\` holding $COUNTS; loadgen at a constant rate, latency from"
    echo "each request's scheduled send time (ms); the bare SQL is the same request's queries through sqlx at the same"
    echo "rate in the same run. Load average at the end: $LOAD."
    [ -n "$SEED_LINE" ] && echo "Seed: $SEED_LINE."
    echo "Reference segment (docs/crm-seed.md): $SEGMENT."
    [ -n "${SEGMENTS_LINE:-}" ] && echo "After-event hooks live during the HTTP ingest: scores and $SEGMENTS_LINE."
    echo
    echo "| scenario | HTTP p50 | HTTP p99 | HTTP p99.9 | HTTP ok | SQL p50 | SQL p99 | SQL ok | p99 ratio | target |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    row "profile by id, 1,000/s" by-id "p99 < 5 ms"
    row "profile by identifier, 1,000/s" by-identifier "p99 < 5 ms"
    row "timeline page of 50, 1,000/s" timeline "p99 < 15 ms"
    row "ingest, single events, $SINGLE_RATE/s" ingest-single "p99 < 100 ms"
    row "ingest, batches of $BATCH, $BATCH_RATE/s ($SINGLE_RATE events/s)" ingest-batch "p99 < 100 ms"
    [ -n "${SQL_FIGURES[session]:-}" ] && read -r s_p50 s_p99 s_p999 _ s_ok <<< "${SQL_FIGURES[session]}" &&
        echo "| session check alone (part of every request), 1,000/s | | | | | $s_p50 | $s_p99 | $s_ok | — | — |"
    echo
    echo "crm_profiles after the SQL ingest: $HOT (then VACUUM (ANALYZE) of the CRM tables, ${VACUUM_SECS}s, before the HTTP scenarios).${ACCEPTED:+ HTTP ingest wrote $ACCEPTED activities.}"
} | tee -a docs/benchmarks.md
log "work files (targets, EXPLAIN, server log): $WORK"
if [ -n "${BENCH_DROP:-}" ]; then
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    log "dropped $DB"
fi
