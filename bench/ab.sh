#!/usr/bin/env bash
# Builds against each other in one sitting (issue 14): for each BINARY in turn, ROUNDS
# times (default 2), a fresh SQLite data directory provisioned as bench/run.sh does, then
# S1 client_credentials, S3 SSO code flow (RS256 and ES256), S5 refresh with rotation,
# S6 introspection and JWKS, each for SECONDS_EACH (default 5) at CONCURRENCY (16).
# Prints one row per build and scenario: requests per second, the 99th percentile's
# latency, and the server's CPU per
# successful request, user + system and the system (kernel) part alone. Alternating the
# builds is what makes their figures comparable on a shared machine: compare rows of
# the same round, and the spread between rounds says how much the machine moved.
# SEEDED=DIR: every build on the one data directory DIR instead of a fresh one: a
# database migrated (`gatehouse --data-dir DIR migrate`) and seeded by
# bench/seed_scale.sh, provisioned by the first run (its master key, app and ES256
# server kept in DIR/bench.env); each run adds a few thousand rows to its millions.
# Usage: bash bench/ab.sh BINARY... (release builds). Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${SECONDS_EACH:-5}" conc="${CONCURRENCY:-16}" port="${PORT:-18190}" rounds="${ROUNDS:-2}"
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/ab.sh needs $tool" >&2; exit 1; }
done
(( $# )) || { echo "usage: bash bench/ab.sh BINARY..." >&2; exit 2; }
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
flows="$root/bench/flows/target/release/gatehouse-flows"

work="$(mktemp -d)"
server=""
cleanup() {
    [[ -n "$server" ]] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
seeded="${SEEDED:-}"
if [[ -n "$seeded" && -f "$seeded/bench.env" ]]; then
    source "$seeded/bench.env"
else
    GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
fi
export GATEHOUSE_MASTER_KEY
export GATEHOUSE_LOG=warn
unset GATEHOUSE_DATABASE_URL GATEHOUSE_CONFIG
base="http://127.0.0.1:$port"

# "USER+SYSTEM SYSTEM" CPU seconds of the server.
cpu() { awk '{print ($14 + $15) / 100, $15 / 100}' "/proc/$server/stat"; }

# row BUILD SCENARIO JSON [CPU-BEFORE CPU-AFTER]: the scenario's line of the table; the
# flow driver's JSON carries the server's CPU over its measured phase, wrk's does not.
row() {
    python3 - "$@" <<'PY'
import json, sys
build, scenario, line = sys.argv[1:4]
d = json.loads(line)
n = max(d.get("successes", d["requests"] - d["errors"]), 1)
if len(sys.argv) > 5:
    (t0, s0), (t1, s1) = (map(float, a.split()) for a in sys.argv[4:6])
    total, system = t1 - t0, s1 - s0
else:
    total, system = d["server_cpu_s"], d["server_sys_s"]
print(f"| {build} | {scenario} | {d['per_second']:,.0f} | {d['p99_ms']:.1f} | {1000 * total / n:.3f} | {1000 * system / n:.3f} |")
PY
}

wrk_row() {
    local build="$1" scenario="$2" path="$3" before after out
    before=$(cpu)
    out=$(wrk -t1 -c"$conc" -d"${seconds}s" -s "$root/bench/wrk.lua" "$base$path" | grep '^{')
    after=$(cpu)
    row "$build" "$scenario" "$out" "$before" "$after"
}

# Provisions DIR (migrated) as bench/run.sh does: sets id, secret and es.
provision() {
    local gh=("$1" --data-dir "$2") policy
    echo 'bench password 1' | "${gh[@]}" users create --login bench@example.com --password-stdin >/dev/null
    "${gh[@]}" scopes create --name bench.read --default >/dev/null
    read -r id secret < <("${gh[@]}" apps create --name bench \
        --redirect-uri https://app.example.com/callback --grant-type authorization_code \
        --grant-type refresh_token --grant-type client_credentials |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
    es=$("${gh[@]}" authz-servers create --name es256 --audience api://es256 --signing-alg ES256 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    policy=$("${gh[@]}" policies create --server "$es" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    "${gh[@]}" policies add-rule --server "$es" --policy "$policy" --name bench >/dev/null
}

one() {
    local bin="$1" build dir="${seeded:-$work/data.$RANDOM}"
    build=$(basename "$bin")
    local id secret es
    if [[ -z "$seeded" ]]; then
        "$bin" --data-dir "$dir" migrate >/dev/null
        provision "$bin" "$dir"
    elif [[ -f "$seeded/bench.env" ]]; then
        source "$seeded/bench.env"
    else
        provision "$bin" "$dir"
        printf 'GATEHOUSE_MASTER_KEY=%q\nid=%q\nsecret=%q\nes=%q\n' \
            "$GATEHOUSE_MASTER_KEY" "$id" "$secret" "$es" >"$seeded/bench.env"
    fi
    "$bin" serve --listen "127.0.0.1:$port" --public-url "$base" --data-dir "$dir" >"$work/server.log" 2>&1 &
    server=$!
    "$flows" wait "$base/readyz" 30 >/dev/null
    sleep 3  # the ES256 server's first key is published before it signs
    export WRK_METHOD=POST WRK_AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
    export WRK_BODY="grant_type=client_credentials&scope=bench.read"
    wrk -t1 -c"$conc" -d1s -s "$root/bench/wrk.lua" "$base/oauth2/default/v1/token" >/dev/null
    wrk_row "$build" "S1 client_credentials" /oauth2/default/v1/token
    local args=("$base" "$id" "$secret" bench@example.com 'bench password 1' "$conc" "$seconds")
    row "$build" "S3 SSO code flow" "$(FLOWS_SERVER_PIDS=$server "$flows" sso "${args[@]}")"
    row "$build" "S3 SSO code flow, ES256" "$(FLOWS_SERVER_PIDS=$server "$flows" sso "${args[@]}" "$es")"
    row "$build" "S5 refresh with rotation" "$(FLOWS_SERVER_PIDS=$server "$flows" refresh "${args[@]}")"
    local access
    access=$(curl -fsS -u "$id:$secret" -d "$WRK_BODY" "$base/oauth2/default/v1/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    export WRK_BODY="token=$access&token_type_hint=access_token"
    wrk_row "$build" "S6 introspection" /oauth2/default/v1/introspect
    unset WRK_METHOD WRK_BODY WRK_AUTH
    wrk_row "$build" "S6 JWKS" /oauth2/default/v1/keys
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

echo "ab: $(date -u +%H:%MZ), ${seconds}s per scenario, concurrency $conc, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | scenario | req/s | p99 ms | server CPU ms/req | of which system |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for r in $(seq 1 "$rounds"); do
    for bin in "$@"; do one "$bin"; done
done
