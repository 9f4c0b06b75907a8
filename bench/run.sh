#!/usr/bin/env bash
# Gatehouse's benchmark suite (issues 6 and 14). Run by hand, never in CI: `bash bench/run.sh`.
#
# Builds release, starts Gatehouse on loopback with a fresh data directory (SQLite),
# provisions a user, an app and an ES256 authorization server with the CLI, and runs
# each scenario for SECONDS_EACH (default 10) at a fixed concurrency:
#   S0 crypto ceiling (one thread)   S1 client_credentials   S2 code exchange
#   S3 SSO code flow (RS256, ES256)  S4 password sign-in, and S3's p99 meanwhile
#   S5 refresh with rotation         S6 introspection, JWKS, discovery
#   footprint: start → first 200 on discovery (fresh, restart), RSS idle and peak.
# Optional targets, each running S1, S2, S3, S5 and S6 again in the same run:
#   POSTGRES=1  Gatehouse on PostgreSQL (127.0.0.1:5432, trust auth; a throwaway
#               database, dropped afterwards): one instance, then three behind the
#               drivers' round robin (the flow driver rotates its workers over the
#               instances; wrk runs one process per instance, the connections split).
#   PEER=1      node-oidc-provider 9 (bench/peer, npm-installed there on first use),
#               configured to sign what Gatehouse signs (bench/peer/server.mjs).
#   SCALE=1     the same scenarios on a database seeded by bench/seed_scale.sh with
#               USERS (1,000,000) users and TOKENS (10,000,000) codes, refresh tokens
#               and System Log events: SQLite, and PostgreSQL with POSTGRES=1.
# Prints a table (and, with any option, every target side by side: req/s, p50/p99,
# server CPU ms per successful request summed over the target's processes (and its system
# part; for the flows, read by the driver around its measured phase only), for
# PostgreSQL also its backends' CPU, and the ratios to Gatehouse on SQLite) and writes bench/results.json (OUT overrides). Every
# figure is also a ratio to S0 of the same run. Needs wrk (apt-get install wrk), curl
# and python3; PEER needs node and npm; POSTGRES psql; SCALE sqlite3.
# Environment: SECONDS_EACH (per scenario, default 10), CONCURRENCY (default 16), PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds="${SECONDS_EACH:-10}"
conc="${CONCURRENCY:-16}"
out="${OUT:-$root/bench/results.json}"
port="${PORT:-18111}"
peer="${PEER:-0}" postgres="${POSTGRES:-0}" scale="${SCALE:-0}"
tools=(wrk curl python3)
[[ "$peer" == 1 ]] && tools+=(node npm)
[[ "$postgres" == 1 ]] && tools+=(psql)
[[ "$scale" == 1 ]] && tools+=(sqlite3)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done

echo "building release (gatehouse and the bench/flows driver)..." >&2
if [[ -z "${GATEHOUSE_BIN:-}" ]]; then
    cargo build --release --locked --quiet
fi
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
if [[ "$peer" == 1 && ! -d bench/peer/node_modules/oidc-provider ]]; then
    echo "installing node-oidc-provider into bench/peer/node_modules (npm ci)..." >&2
    npm ci --prefix bench/peer --no-audit --no-fund --silent >&2
fi
# GATEHOUSE_BIN: measure another build (say, an older commit's) with the same suite.
bin="${GATEHOUSE_BIN:-$root/target/release/gatehouse}"
flows="$root/bench/flows/target/release/gatehouse-flows"

work="$(mktemp -d)"
pids=()          # the processes of the target being measured (their CPU is summed)
all_pids=()      # every server started, stopped at the end
pgdb="gh_bench_$$"
pg_made=""
results="$work/results.jsonl"
stop_servers() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    local p
    for p in "${all_pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [[ -n "$pg_made" ]]; then
        psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" postgres 2>/dev/null || true
    fi
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
target="gatehouse-sqlite"

# start LABEL: starts the server in the background and records, in ms, the time from
# the launch to its first 200 on discovery (polled every millisecond by the driver).
start() {
    local label="$1" t0 t1
    t0=$(date +%s%N)
    "$bin" serve --listen "127.0.0.1:$port" --public-url "$base" --data-dir "$data" >>"$work/server.log" 2>&1 &
    pids=($!); all_pids+=($!)
    if ! t1=$("$flows" wait "$discovery" 5); then
        echo "the server did not answer discovery within 5 s:" >&2; cat "$work/server.log" >&2; exit 1
    fi
    echo "{\"scenario\": \"first 200 ($label)\", \"ms\": $(( (t1 - t0) / 1000000 ))}" >>"$results"
}
# start_instance NAME PORT PUBLIC_URL [DATABASE_URL]: one more process of the current
# target (instances sharing a database share one public URL), ready on /readyz.
start_instance() {
    local name="$1" p="$2" public="$3" url="${4:-}"
    mkdir -p "$work/$name"
    env ${url:+GATEHOUSE_DATABASE_URL="$url"} "$bin" serve --listen "127.0.0.1:$p" \
        --public-url "$public" --data-dir "$work/$name" >"$work/$name.log" 2>&1 &
    pids+=($!); all_pids+=($!)
    "$flows" wait "http://127.0.0.1:$p/readyz" 30 >/dev/null || {
        echo "instance $name did not become ready:" >&2; cat "$work/$name.log" >&2; exit 1; }
}
rss_kb() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status"; }
# The CPU seconds of the target's processes, summed: "USER+SYSTEM SYSTEM" (the kernel's
# share, sockets, wake-ups and the scheduler, is reported apart from the total).
cpu_s() {
    local p total=0 sys=0
    for p in "${pids[@]}"; do
        read -r total sys < <(awk -v t="$total" -v s="$sys" '{print t + ($14 + $15) / 100, s + $15 / 100}' "/proc/$p/stat")
    done
    echo "$total $sys"
}

# With PostgreSQL: "PID CPU-SECONDS" of every backend connected to the bench database
# (the database's side of each request; SQLite's runs inside the server).
db_snapshot() {
    [[ -n "$pg_made" && "$target" == gatehouse-pg* ]] || return 0
    local p backends
    # No snapshot (say, the server is out of connections): no figure, never a wrong one.
    backends=$(psql -At -h 127.0.0.1 -U postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$pgdb'" postgres 2>/dev/null) || {
        echo unknown; return 0; }
    for p in $backends; do
        [[ -r "/proc/$p/stat" ]] && awk -v p="$p" '{print p, ($14 + $15) / 100}' "/proc/$p/stat"
    done
    return 0
}

# With PostgreSQL: "LOCAL-PORT SEGMENTS" for every connection of the target's processes
# to PostgreSQL, SEGMENTS being the TCP segments carrying data that the process sent on
# it (`ss -i`'s data_segs_out). The client sends one segment per round trip (a
# statement, a ping, a BEGIN or a COMMIT: each flushed once, then its answer awaited),
# so their growth over a scenario ÷ its requests is the round trips per request.
trips_snapshot() {
    [[ -n "$pg_made" && "$target" == gatehouse-pg* ]] || return 0
    ss -tnpiH state established '( dport = :5432 )' 2>/dev/null | python3 -c '
import re, sys
pids = set(sys.argv[1:])
lines = sys.stdin.read().splitlines()
for head, info in zip(lines[::2], lines[1::2]):
    owner = re.search(r"pid=(\d+)", head)
    segs = re.search(r"data_segs_out:(\d+)", info)
    if owner and owner.group(1) in pids:
        print(head.split()[2].rsplit(":", 1)[1], segs.group(1) if segs else 0)' "${pids[@]}"
}

# run LABEL COMMAND...: runs a scenario; its JSON lines, with the target's CPU seconds
# over the scenario and the target's name added, go to the results.
run() {
    local label="$1"; shift
    local before after line db_before db_after db_cpu trips_before trips_after trips
    before=$(cpu_s)
    db_before=$(db_snapshot)
    trips_before=$(trips_snapshot)
    printf '%-20s %-34s' "$target" "$label" >&2
    local lines
    # A scenario that outlives three times its length (a hung server) fails the run
    # (wrk_run puts its own timeout on wrk).
    local limit=()
    declare -F "$1" >/dev/null || limit=(timeout $((3 * seconds + 60)))
    # The flow driver reads the servers' CPU itself around its measured phase (its
    # sign-ins and the codes S2 fetches before it are not the scenario's); wrk's
    # scenarios have no such phase, so theirs is read here.
    if ! lines=$(FLOWS_SERVER_PIDS="${pids[*]}" "${limit[@]}" "$@" 2>"$work/err"); then
        echo " FAILED" >&2; cat "$work/err" >&2; exit 1
    fi
    after=$(cpu_s)
    db_after=$(db_snapshot)
    trips_after=$(trips_snapshot)
    # Segments sent to PostgreSQL over the scenario (a connection opened meanwhile
    # counts from zero).
    trips=$(python3 -c 'import sys
before = dict(l.split() for l in sys.argv[1].splitlines() if l.strip())
after = dict(l.split() for l in sys.argv[2].splitlines() if l.strip())
print(sum(int(v) - int(before.get(p, 0)) for p, v in after.items()) if after else "")' "$trips_before" "$trips_after")
    # The backends' CPU over the scenario (one that ended meanwhile is not counted).
    db_cpu=$(python3 -c 'import sys
if "unknown" in sys.argv[1] + sys.argv[2]:
    print(""); sys.exit()
before = dict(l.split() for l in sys.argv[1].splitlines() if l.strip())
after = dict(l.split() for l in sys.argv[2].splitlines() if l.strip())
print(round(sum(float(v) - float(before.get(p, 0)) for p, v in after.items()), 2) if after else "")' "$db_before" "$db_after")
    # One line: it is this scenario, named by LABEL; several (S4): they name themselves.
    local count
    count=$(grep -c . <<<"$lines")
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["scenario"]=sys.argv[2] if sys.argv[4]=="1" else d.get("scenario", sys.argv[2]); d.setdefault("server_cpu_s", round(float(sys.argv[3].split()[0]),2)); d.setdefault("server_sys_s", round(float(sys.argv[3].split()[1]),2)); d["system"]=sys.argv[5]; d["processes"]=int(sys.argv[6]); d.update({"db_cpu_s": float(sys.argv[7])} if sys.argv[7] else {}); d.update({"db_segments": int(sys.argv[8])} if sys.argv[8] else {}); print(json.dumps(d))' \
            "$line" "$label" "$(awk -v a="$after" -v b="$before" 'BEGIN {split(a, x, " "); split(b, y, " "); print x[1] - y[1], x[2] - y[2]}')" "$count" "$target" "${#pids[@]}" "$db_cpu" "$trips" >>"$results"
    done <<<"$lines"
    echo " done" >&2
    if [[ -s "$work/err" ]]; then sed 's/^/    /' "$work/err" >&2; fi
}

# wrk_run LABEL PATH: single requests with wrk (2 threads, $conc connections) on the
# target's one base URL; with several, one wrk per instance at once, the connections
# split between them, summed (p50: the request-weighted mean; p99: the highest).
wrk_run() {
    local label="$1" path="$2" n=${#bases[@]} i c
    local limit=$((3 * seconds + 60)) wrks=()
    for i in "${!bases[@]}"; do
        c=$(( conc / n + (i < conc % n ? 1 : 0) ))
        (( c < 2 )) && c=2
        /usr/bin/time -f '%U %S' -o "$work/wrk.$i.time" \
            timeout "$limit" wrk -t2 -c"$c" -d"${seconds}s" -s "$root/bench/wrk.lua" "${bases[$i]}$path" >"$work/wrk.$i.out" 2>&1 &
        wrks+=($!)
    done
    local failed=0 w
    for w in "${wrks[@]}"; do wait "$w" || failed=1; done
    if (( failed )); then cat "$work"/wrk.*.out >&2; return 1; fi
    python3 - "$label" "$work" "$n" <<'PY'
import json, sys
label, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
parts, cpu = [], 0.0
for i in range(n):
    parts.append(json.loads(next(l for l in open(f"{work}/wrk.{i}.out") if l.startswith("{"))))
    u, s = open(f"{work}/wrk.{i}.time").read().split()[-2:]
    cpu += float(u) + float(s)
requests = sum(p["requests"] for p in parts)
seconds = max(p["seconds"] for p in parts)
d = {"scenario": label, "requests": requests, "seconds": seconds,
     "per_second": round(sum(p["per_second"] for p in parts), 1),
     "p50_ms": round(sum(p["p50_ms"] * p["requests"] for p in parts) / max(requests, 1), 2),
     "p99_ms": max(p["p99_ms"] for p in parts), "errors": sum(p["errors"] for p in parts),
     "successes": requests - sum(p["errors"] for p in parts),
     "client_cpu_s": round(cpu, 2), "instances": n}
print(json.dumps(d))
PY
}

# provision DATA_DIR [DATABASE_URL]: a user, a default scope, an app with the three
# grants, and (if the build can) an ES256 server whose policy allows the code flow;
# sets id, secret and es.
provision() {
    local dir="$1" url="${2:-}"
    local gh=(env ${url:+GATEHOUSE_DATABASE_URL="$url"} "$bin" --data-dir "$dir")
    echo 'bench password 1' | "${gh[@]}" users create --login bench@example.com --password-stdin >/dev/null
    "${gh[@]}" scopes create --name bench.read --default >/dev/null
    read -r id secret < <("${gh[@]}" apps create --name bench \
        --redirect-uri https://app.example.com/callback --grant-type authorization_code \
        --grant-type refresh_token --grant-type client_credentials |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
    es=""
    local es_json policy
    if es_json=$("${gh[@]}" authz-servers create --name es256 --audience api://es256 --signing-alg ES256 2>/dev/null); then
        es=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$es_json")
        policy=$("${gh[@]}" policies create --server "$es" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
        "${gh[@]}" policies add-rule --server "$es" --policy "$policy" --name bench >/dev/null
    fi
}

# suite: S1, S2, S3 (and ES256), S5, S6 on the current target: `bases` (its instances),
# id, secret, es; `disco` the discovery path; `intro_form` the client_credentials form
# whose access token S6 introspects.
suite() {
    local joined token_path="/oauth2/default/v1/token"
    joined=$(IFS=,; echo "${bases[*]}")
    export WRK_METHOD=POST WRK_AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
    export WRK_BODY="grant_type=client_credentials&scope=bench.read"
    run "S1 client_credentials" wrk_run "S1 client_credentials" "$token_path"
    local args=("$joined" "$id" "$secret" bench@example.com 'bench password 1' "$conc" "$seconds")
    run "S2 code exchange" "$flows" exchange "${args[@]}"
    run "S3 SSO code flow" "$flows" sso "${args[@]}"
    if [[ -n "$es" ]]; then
        run "S3 SSO code flow, ES256" "$flows" sso "${args[@]}" "$es"
    fi
    run "S5 refresh with rotation" "$flows" refresh "${args[@]}"
    local access
    access=$(curl -fsS -u "$id:$secret" -d "$intro_form" "${bases[0]}$token_path" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -fsS -u "$id:$secret" -d "token=$access&token_type_hint=access_token" "${bases[0]}/oauth2/default/v1/introspect" |
        grep -q '"active":true' || { echo "$target: the token to introspect is not active" >&2; exit 1; }
    export WRK_BODY="token=$access&token_type_hint=access_token"
    run "S6 introspection" wrk_run "S6 introspection" "/oauth2/default/v1/introspect"
    unset WRK_METHOD WRK_BODY WRK_AUTH
    run "S6 JWKS" wrk_run "S6 JWKS" "/oauth2/default/v1/keys"
    run "S6 discovery" wrk_run "S6 discovery" "$disco"
}
disco="/oauth2/default/.well-known/openid-configuration"
intro_form="grant_type=client_credentials&scope=bench.read"

: >"$results"
echo "Gatehouse benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, ${seconds}s per scenario, concurrency $conc, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

target="crypto"
run "S0 crypto ceiling" "$flows" crypto 8
target="gatehouse-sqlite"

# Footprint: first start on a fresh directory, then provision and restart.
start "fresh data dir"
sleep 1
echo "{\"scenario\": \"RSS idle after first start\", \"mb\": $(( $(rss_kb "${pids[0]}" VmRSS) / 1024 ))}" >>"$results"
provision "$data"
stop_servers
start "restart"
sleep 1
echo "{\"scenario\": \"RSS idle after restart\", \"mb\": $(( $(rss_kb "${pids[0]}" VmRSS) / 1024 ))}" >>"$results"

auth="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
token_url="$base/oauth2/default/v1/token"
export WRK_METHOD=POST WRK_AUTH="$auth" WRK_BODY="grant_type=client_credentials&scope=bench.read"
bases=("$base")
run "S1 client_credentials" wrk_run "S1 client_credentials" "/oauth2/default/v1/token"

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
run "S6 introspection" wrk_run "S6 introspection" "/oauth2/default/v1/introspect"
unset WRK_METHOD WRK_BODY WRK_AUTH
run "S6 JWKS" wrk_run "S6 JWKS" "/oauth2/default/v1/keys"
run "S6 discovery" wrk_run "S6 discovery" "$disco"

echo "{\"scenario\": \"RSS peak\", \"mb\": $(( $(rss_kb "${pids[0]}" VmHWM) / 1024 ))}" >>"$results"
stop_servers

if [[ "$scale" == 1 ]]; then
    echo "seeding the SQLite database (USERS=${USERS:-1000000}, TOKENS=${TOKENS:-10000000})..." >&2
    t0=$(date +%s)
    bash "$root/bench/seed_scale.sh" sqlite "$data/gatehouse.db" >/dev/null
    echo "{\"scenario\": \"seeding SQLite\", \"system\": \"gatehouse-sqlite-scale\", \"s\": $(( $(date +%s) - t0 )), \"db_mb\": $(( $(du -sk "$data" | cut -f1) / 1024 ))}" >>"$results"
    target="gatehouse-sqlite-scale"
    start "restart, seeded"
    bases=("$base")
    suite
    stop_servers
fi

if [[ "$postgres" == 1 ]]; then
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgdb" postgres
    pg_made=1
    pg="postgres://postgres@127.0.0.1:5432/$pgdb"
    public="http://127.0.0.1:$((port + 1))"
    target="gatehouse-pg1"
    start_instance pg1 $((port + 1)) "$public" "$pg"
    provision "$work/pg1" "$pg"
    bases=("http://127.0.0.1:$((port + 1))")
    suite
    target="gatehouse-pg3"
    start_instance pg2 $((port + 2)) "$public" "$pg"
    start_instance pg3 $((port + 3)) "$public" "$pg"
    bases=("http://127.0.0.1:$((port + 1))" "http://127.0.0.1:$((port + 2))" "http://127.0.0.1:$((port + 3))")
    suite
    stop_servers
    if [[ "$scale" == 1 ]]; then
        echo "seeding the PostgreSQL database..." >&2
        t0=$(date +%s)
        bash "$root/bench/seed_scale.sh" postgres "$pg" >/dev/null
        echo "{\"scenario\": \"seeding PostgreSQL\", \"system\": \"gatehouse-pg1-scale\", \"s\": $(( $(date +%s) - t0 ))}" >>"$results"
        target="gatehouse-pg1-scale"
        start_instance pg1 $((port + 1)) "$public" "$pg"
        bases=("http://127.0.0.1:$((port + 1))")
        suite
        stop_servers
    fi
fi

if [[ "$peer" == 1 ]]; then
    target="node-oidc-provider"
    peer_port=$((port + 10))
    id=bench secret="bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" es=""
    PEER_CLIENT_ID="$id" PEER_CLIENT_SECRET="$secret" node "$root/bench/peer/server.mjs" "$peer_port" >"$work/peer.log" 2>&1 &
    pids=($!); all_pids+=($!)
    "$flows" wait "http://127.0.0.1:$peer_port/.well-known/openid-configuration" 30 >/dev/null || {
        echo "node-oidc-provider did not start:" >&2; cat "$work/peer.log" >&2; exit 1; }
    bases=("http://127.0.0.1:$peer_port")
    disco="/.well-known/openid-configuration"
    # It introspects only the tokens it stores: an opaque one (bench/peer/server.mjs).
    intro_form="grant_type=client_credentials&scope=bench.read&resource=urn:bench:opaque"
    # It grants offline_access (a refresh token) only with prompt=consent.
    export FLOWS_OFFLINE_PROMPT_CONSENT=1
    suite
    unset FLOWS_OFFLINE_PROMPT_CONSENT
    stop_servers
fi

cp "$results" "${out%.json}.jsonl"
python3 "$root/bench/report.py" "$results" "$out"
