# Sourced by scripts/run and scripts/test: installs what is missing and starts (or reuses) a project-local
# PostgreSQL cluster and Redis server on ports that stay clear of system services.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${CONCIERGE_PG_PORT:-55439}"
REDIS_PORT="${CONCIERGE_REDIS_PORT:-56379}"
STATE_DIR="${CONCIERGE_STATE_DIR:-$ROOT/.local}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $* (install it yourself, or set DATABASE_URL / REDIS_URL)"
    fi
}

apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install $* with your package manager"
    log "installing $* from the OS package manager"
    if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

find_pg_bin() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"; return
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

ensure_tools() {
    PG_BIN="$(find_pg_bin || true)"
    if [ -z "$PG_BIN" ]; then apt_install postgresql; PG_BIN="$(find_pg_bin)"; fi
    command -v psql >/dev/null || apt_install postgresql-client
    command -v curl >/dev/null || apt_install curl
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server; fi
}

# node and npm for the API clients' typecheck (clients/, scripts/typecheck-clients); the npm packages themselves
# go into the project-local clients/node_modules, pinned by clients/package-lock.json.
ensure_node() {
    command -v node >/dev/null || apt_install nodejs
    command -v npm >/dev/null || apt_install npm
}

# promtool for the Prometheus rules (docker/observability/, scripts/check-observability).
ensure_promtool() {
    command -v promtool >/dev/null || apt_install --no-install-recommends prometheus
    command -v promtool >/dev/null || die "promtool not found after installing prometheus"
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user. Its data lives in
# the ignored `.local/` folder when that user can reach it, otherwise in a folder of its own under /var/tmp.
pg_run() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_data_dir() {
    local dir="$STATE_DIR/pg"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
        mkdir -p "$dir" && chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            dir="/var/tmp/concierge-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)/pg"
            mkdir -p "$dir" && chown -R postgres: "$(dirname "$dir")"
        fi
    fi
    mkdir -p "$dir"; echo "$dir"
}

start_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then PG_ADMIN_URL="$DATABASE_URL"; log "using DATABASE_URL"; return; fi
    PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    # Another checkout's cluster (or an earlier run) may already serve this port: share it.
    if psql "$PG_ADMIN_URL" -tAq -c 'SELECT 1' >/dev/null 2>&1; then
        log "reusing PostgreSQL on 127.0.0.1:$PG_PORT"; return
    fi
    local data; data="$(pg_data_dir)"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating PostgreSQL cluster in $data"
        pg_run "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --no-instructions >/dev/null
        # A throwaway local cluster: durability traded for speed.
        cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg_run "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null \
        || die "PostgreSQL did not start; see $data/server.log"
}

start_redis() {
    if [ -n "${REDIS_URL:-}" ]; then log "using REDIS_URL"; return; fi
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        log "reusing Redis on 127.0.0.1:$REDIS_PORT"; return
    fi
    local dir="$STATE_DIR/redis"; mkdir -p "$dir"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$dir" \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
    die "Redis did not start; see $dir/redis.log"
}

# Replaces the database name in a postgres:// URL.
db_url() { local base="${1%/*}"; echo "$base/$2"; }

create_database() {
    local name="$1"
    psql "$PG_ADMIN_URL" -tAq -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
        || psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$name\"" >/dev/null
}

# Builds must never read DATABASE_URL: apalis-postgres's own query macros would try to connect to it.
export SQLX_OFFLINE=true
