#!/usr/bin/env bash
# SSO code flows per second (authorize with a session cookie, then the code exchange),
# for one Gatehouse on SQLite, then one and two on one PostgreSQL database. Run by hand,
# never in CI: `bash bench/sso.sh` (CONCURRENCY, SECONDS_PER_RUN override 16 and 10).
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth for `postgres`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

concurrency="${CONCURRENCY:-16}"
seconds="${SECONDS_PER_RUN:-10}"
cargo build --release --locked --quiet
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
bin="$PWD/target/release/gatehouse"
flows="$PWD/bench/flows/target/release/gatehouse-flows"

work="$(mktemp -d)"
db="gh_bench_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
export GATEHOUSE_LOG=warn
unset GATEHOUSE_DATABASE_URL

# start NAME PORT PUBLIC_PORT [DATABASE_URL]: a server in the background, ready.
start() {
    local name="$1" port="$2" public="$3" url="${4:-}"
    mkdir -p "$work/$name"
    env ${url:+GATEHOUSE_DATABASE_URL="$url"} "$bin" serve --listen "127.0.0.1:$port" \
        --public-url "http://127.0.0.1:$public" --data-dir "$work/$name" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return 0
        sleep 0.1
    done
    echo "instance $name did not become ready" >&2; cat "$work/$name.log" >&2; exit 1
}

# provision DATA_DIR [DATABASE_URL]: a user and a confidential app; prints "CLIENT_ID SECRET".
provision() {
    local dir="$1" url="${2:-}"
    echo 'bench password 1' | env ${url:+GATEHOUSE_DATABASE_URL="$url"} "$bin" --data-dir "$dir" users create \
        --login bench@example.com --password-stdin >/dev/null
    env ${url:+GATEHOUSE_DATABASE_URL="$url"} "$bin" --data-dir "$dir" apps create --name bench \
        --redirect-uri https://app.example.com/callback |
        python3 -c 'import json,sys; c=json.load(sys.stdin)["credentials"]["oauthClient"]; print(c["client_id"], c["client_secret"])'
}

run() {
    local label="$1" bases="$2" id="$3" secret="$4"
    printf '%-28s ' "$label"
    "$flows" sso "$bases" "$id" "$secret" bench@example.com 'bench password 1' "$concurrency" "$seconds"
}

echo "SSO code flows, concurrency $concurrency, $seconds s each, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"

start sqlite 18101 18101
read -r id secret < <(provision "$work/sqlite")
run "1 instance, SQLite" "http://127.0.0.1:18101" "$id" "$secret"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
pg="postgres://postgres@127.0.0.1:5432/$db"
start pg1 18201 18201 "$pg"
read -r id secret < <(provision "$work/pg1" "$pg")
run "1 instance, PostgreSQL" "http://127.0.0.1:18201" "$id" "$secret"
start pg2 18202 18201 "$pg"
run "2 instances, PostgreSQL" "http://127.0.0.1:18201,http://127.0.0.1:18202" "$id" "$secret"
