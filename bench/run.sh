#!/usr/bin/env bash
# Gatehouse's benchmark suite (issue 6). Run by hand, never in CI: `bash bench/run.sh`.
#
# Builds release, starts Gatehouse on loopback with a fresh data directory (SQLite),
# provisions a user, an app and an ES256 authorization server with the CLI, and runs
# each scenario for SECONDS_EACH (default 10) at a fixed concurrency:
#   S0 crypto ceiling (one thread)   S1 client_credentials   S2 code exchange
#   S3 SSO code flow (RS256, ES256)  S4 password sign-in, and S3's p99 meanwhile
#   S5 refresh with rotation         S6 introspection, JWKS, discovery
#   footprint: start → first 200 on discovery (fresh, restart), RSS idle and peak.
# Prints a table and writes bench/results.json (OUT overrides). Every figure is also
# a ratio to S0 of the same run. Needs wrk (apt-get install wrk), curl and python3.
# Environment: SECONDS_EACH (per scenario, default 10), CONCURRENCY (default 16), PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds="${SECONDS_EACH:-10}"
conc="${CONCURRENCY:-16}"
out="${OUT:-$root/bench/results.json}"
port="${PORT:-18111}"
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done

echo "building release (gatehouse and the bench/flows driver)..." >&2
if [[ -z "${GATEHOUSE_BIN:-}" ]]; then
    cargo build --release --locked --quiet
fi
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
# GATEHOUSE_BIN: measure another build (say, an older commit's) with the same suite.
bin="${GATEHOUSE_BIN:-$root/target/release/gatehouse}"
flows="$root/bench/flows/target/release/gatehouse-flows"

work="$(mktemp -d)"
server_pid=""
results="$work/results.jsonl"
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

export GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
export GATEHOUSE_LOG=warn
unset GATEHOUSE_DATABASE_URL GATEHOUSE_CONFIG
data="$work/data"
base="http://127.0.0.1:$port"
discovery="$base/oauth2/default/.well-known/openid-configuration"

# start LABEL: starts the server in the background and records, in ms, the time from
# the launch to its first 200 on discovery (polled every millisecond by the driver).
start() {
    local label="$1" t0 t1
    t0=$(date +%s%N)
    "$bin" serve --listen "127.0.0.1:$port" --public-url "$base" --data-dir "$data" >>"$work/server.log" 2>&1 &
    server_pid=$!
    if ! t1=$("$flows" wait "$discovery" 5); then
        echo "the server did not answer discovery within 5 s:" >&2; cat "$work/server.log" >&2; exit 1
    fi
    echo "{\"scenario\": \"first 200 ($label)\", \"ms\": $(( (t1 - t0) / 1000000 ))}" >>"$results"
}
rss_kb() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status"; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }

# run LABEL COMMAND...: runs a scenario; its JSON lines, with the server's CPU seconds
# over the scenario added, go to the results.
run() {
    local label="$1"; shift
    local before after line
    before=$(cpu_s "$server_pid")
    printf '%-34s' "$label" >&2
    local lines
    # A scenario that outlives three times its length (a hung server) fails the run
    # (wrk_run puts its own timeout on wrk).
    local limit=()
    declare -F "$1" >/dev/null || limit=(timeout $((3 * seconds + 60)))
    if ! lines=$("${limit[@]}" "$@" 2>"$work/err"); then
        echo " FAILED" >&2; cat "$work/err" >&2; exit 1
    fi
    after=$(cpu_s "$server_pid")
    # One line: it is this scenario, named by LABEL; several (S4): they name themselves.
    local count
    count=$(grep -c . <<<"$lines")
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["scenario"]=sys.argv[2] if sys.argv[4]=="1" else d.get("scenario", sys.argv[2]); d["server_cpu_s"]=round(float(sys.argv[3]),2); print(json.dumps(d))' \
            "$line" "$label" "$(awk -v a="$after" -v b="$before" 'BEGIN {print a - b}')" "$count" >>"$results"
    done <<<"$lines"
    echo " done" >&2
    if [[ -s "$work/err" ]]; then sed 's/^/    /' "$work/err" >&2; fi
}

# wrk_run LABEL URL [LUA-ENV...]: single requests with wrk (2 threads, $conc connections).
wrk_run() {
    local label="$1" url="$2"
    /usr/bin/time -f '%U %S' -o "$work/wrk.time" \
        timeout $((3 * seconds + 60)) wrk -t2 -c"$conc" -d"${seconds}s" -s "$root/bench/wrk.lua" "$url" >"$work/wrk.out" 2>&1 || {
        cat "$work/wrk.out" >&2; return 1; }
    local json cpu
    json=$(grep '^{' "$work/wrk.out")
    cpu=$(awk '{print $1 + $2}' "$work/wrk.time")
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["scenario"]=sys.argv[2]; d["client_cpu_s"]=float(sys.argv[3]); print(json.dumps(d))' "$json" "$label" "$cpu"
}

: >"$results"
echo "Gatehouse benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, ${seconds}s per scenario, concurrency $conc" >&2

run "S0 crypto ceiling" "$flows" crypto 8

# Footprint: first start on a fresh directory, then provision and restart.
start "fresh data dir"
sleep 1
echo "{\"scenario\": \"RSS idle after first start\", \"mb\": $(( $(rss_kb "$server_pid" VmRSS) / 1024 ))}" >>"$results"
echo 'bench password 1' | "$bin" --data-dir "$data" users create --login bench@example.com --password-stdin >/dev/null
"$bin" --data-dir "$data" scopes create --name bench.read --default >/dev/null
read -r id secret < <("$bin" --data-dir "$data" apps create --name bench \
    --redirect-uri https://app.example.com/callback --grant-type authorization_code \
    --grant-type refresh_token --grant-type client_credentials |
    python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
# An ES256 server with a policy that allows the code flow (a build without
# --signing-alg skips the ES256 scenario).
es=""
if es_json=$("$bin" --data-dir "$data" authz-servers create --name es256 --audience api://es256 --signing-alg ES256 2>/dev/null); then
    es=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$es_json")
    policy=$("$bin" --data-dir "$data" policies create --server "$es" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    "$bin" --data-dir "$data" policies add-rule --server "$es" --policy "$policy" --name bench >/dev/null
fi
stop_server
start "restart"
sleep 1
echo "{\"scenario\": \"RSS idle after restart\", \"mb\": $(( $(rss_kb "$server_pid" VmRSS) / 1024 ))}" >>"$results"

auth="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
token_url="$base/oauth2/default/v1/token"
export WRK_METHOD=POST WRK_AUTH="$auth" WRK_BODY="grant_type=client_credentials&scope=bench.read"
run "S1 client_credentials" wrk_run "S1 client_credentials" "$token_url"

flow_args=("$base" "$id" "$secret" bench@example.com 'bench password 1' "$conc" "$seconds")
run "S2 code exchange" "$flows" exchange "${flow_args[@]}"
run "S3 SSO code flow" "$flows" sso "${flow_args[@]}"
if [[ -n "$es" ]]; then
    run "S3 SSO code flow, ES256" "$flows" sso "$base" "$id" "$secret" bench@example.com 'bench password 1' "$conc" "$seconds" "$es"
fi
run "S4 sign-in + S3 meanwhile" "$flows" login "${flow_args[@]}" default 4
run "S5 refresh with rotation" "$flows" refresh "${flow_args[@]}"

access=$(curl -fsS -u "$id:$secret" -d 'grant_type=client_credentials&scope=bench.read' "$token_url" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export WRK_BODY="token=$access&token_type_hint=access_token"
run "S6 introspection" wrk_run "S6 introspection" "$base/oauth2/default/v1/introspect"
unset WRK_METHOD WRK_BODY WRK_AUTH
run "S6 JWKS" wrk_run "S6 JWKS" "$base/oauth2/default/v1/keys"
run "S6 discovery" wrk_run "S6 discovery" "$discovery"

echo "{\"scenario\": \"RSS peak\", \"mb\": $(( $(rss_kb "$server_pid" VmHWM) / 1024 ))}" >>"$results"
stop_server

cp "$results" "${out%.json}.jsonl"
python3 "$root/bench/report.py" "$results" "$out"
