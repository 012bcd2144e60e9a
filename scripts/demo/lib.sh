# Sourced by the walk-throughs in scripts/demo/: talks to a server started by ./scripts/run with curl and jq,
# prints each step, and stops at the first answer that is not what the issue says.
# shellcheck shell=bash
set -euo pipefail

CONCIERGE_URL="${CONCIERGE_URL:-http://127.0.0.1:${CONCIERGE__SERVER__PORT:-8080}}"
SANDBOX_URL="${SANDBOX_URL:-http://${CONCIERGE__SANDBOX__LISTEN:-127.0.0.1:8090}}"
API="$CONCIERGE_URL/api/v1"
# Unique per run, so a walk can be repeated against the same database.
RUN="${RUN:-$(date -u +%Y%m%d%H%M%S)-$RANDOM}"

for tool in curl jq python3; do
    command -v "$tool" >/dev/null || { echo "the walk-throughs need $tool" >&2; exit 2; }
done

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
ok() { printf '    \033[1;32mok\033[0m %s\n' "$*" >&2; }
fail() { printf '\n\033[1;31mFAILED:\033[0m %s\n' "$*" >&2; exit 1; }

# The last answer: status in $STATUS, body in $BODY, headers in $HEADERS.
STATUS=""
BODY=""
HEADERS=""
TOKEN=""

# call METHOD PATH [JSON] [extra curl args…]: PATH is under /api/v1 unless it starts with http.
call() {
    local method="$1" path="$2" data="${3:-}"
    shift 3 2>/dev/null || shift $#
    local url="$path"
    [[ "$url" == http* ]] || url="$API$path"
    local out hdr
    out="$(mktemp)"
    hdr="$(mktemp)"
    local args=(-sS -X "$method" -o "$out" -D "$hdr" -w '%{http_code}')
    [ -n "$TOKEN" ] && args+=(-H "Authorization: Bearer $TOKEN")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    STATUS="$(curl "${args[@]}" "$@" "$url")" || fail "$method $url: no answer (is ./scripts/run up at $CONCIERGE_URL?)"
    BODY="$(cat "$out")"
    HEADERS="$(cat "$hdr")"
    rm -f "$out" "$hdr"
}

# expect STATUS…: the last answer had one of these statuses.
expect() {
    local want
    for want in "$@"; do [ "$STATUS" = "$want" ] && return 0; done
    fail "expected HTTP $* but got $STATUS: $(printf '%s' "$BODY" | head -c 2000)"
}

# jq over the last body.
j() { printf '%s' "$BODY" | jq -r "$@"; }

# check JQ_EXPR MESSAGE: the expression is true of the last body.
check() {
    local expr="$1" what="$2"
    if [ "$(printf '%s' "$BODY" | jq -r "$expr" 2>/dev/null)" = "true" ]; then ok "$what"; else
        fail "$what — not so: $expr over $(printf '%s' "$BODY" | head -c 2000)"
    fi
}

header() { printf '%s' "$HEADERS" | tr -d '\r' | awk -v h="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" \
    'BEGIN{FS=": "} tolower($1)==h {print substr($0, length($1)+3)}' | tail -1; }

login() {
    local email="$1" password="$2"
    TOKEN=""
    call POST /auth/login "$(jq -nc --arg e "$email" --arg p "$password" '{email:$e,password:$p}')"
    expect 200
    TOKEN="$(j .access_token)"
    ok "signed in as $email"
}

# wait_for SECONDS DESCRIPTION COMMAND…: runs COMMAND every 2 s until it succeeds.
wait_for() {
    local seconds="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
        sleep 2
    done
    ok "$what"
}

# A time zone where it is now between 09:00 and 18:00, so quiet hours (21:00–08:00, marketing only) do not
# defer the walk's messages: the brand's own zone when it is day there.
daytime_zone() {
    python3 - "$@" <<'PY'
import sys, datetime, zoneinfo
zones = sys.argv[1:] + ["Europe/Paris", "Asia/Tokyo", "America/New_York", "America/Los_Angeles",
        "Asia/Kolkata", "Pacific/Auckland", "America/Sao_Paulo", "Pacific/Honolulu", "Asia/Dubai"]
now = datetime.datetime.now(datetime.timezone.utc)
for zone in zones:
    if 9 <= now.astimezone(zoneinfo.ZoneInfo(zone)).hour < 18:
        print(zone)
        break
PY
}

ensure_server() {
    curl -fsS "$CONCIERGE_URL/health/ready" >/dev/null 2>&1 \
        || fail "no ready server at $CONCIERGE_URL: start it with ./scripts/run (CONCIERGE_URL=… for another port)"
}
