#!/usr/bin/env bash
# What a request costs on PostgreSQL, counted rather than timed, for builds compared in
# one sitting on a shared machine (issue 14): client_credentials (S1) and introspection
# (S6) against one instance on a fresh database, and for each
#   - round trips to PostgreSQL per request (TCP segments the server sent to 5432,
#     `ss -i`'s data_segs_out: one per statement, ping, BEGIN or COMMIT),
#   - with CALLGRIND=1, the server's instructions per request (valgrind's callgrind,
#     counters zeroed after a warm-up, dumped after the load): the same on a busy machine
#     as on an idle one, unlike CPU time,
#   - without it, the server's and PostgreSQL's backends' CPU ms per request (noisy when
#     the machine is shared: compare only builds run alternately in the same sitting).
# With SQLITE=1 the same on SQLite (a fresh data directory; no round trips to count), for
# the PostgreSQL ÷ SQLite ratio of one build.
# Usage: bash bench/pg_cost.sh BINARY... (release builds for CPU and instructions; round
# trips are the same in a debug build. Run alternately ROUNDS
# times, default 1). Environment: SECONDS_EACH (default 10; with callgrind the server is
# ~50x slower, so the request counts are small), CONCURRENCY (default 4), PORT,
# CALLGRIND_KEEP (a directory to keep each scenario's callgrind dump in).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${SECONDS_EACH:-10}" conc="${CONCURRENCY:-4}" port="${PORT:-18170}"
rounds="${ROUNDS:-1}" callgrind="${CALLGRIND:-0}" sqlite="${SQLITE:-0}"
for tool in wrk curl psql python3 ss; do
    command -v "$tool" >/dev/null || { echo "bench/pg_cost.sh needs $tool" >&2; exit 1; }
done
[[ "$callgrind" == 1 ]] && { command -v valgrind >/dev/null || { echo "CALLGRIND=1 needs valgrind" >&2; exit 1; }; }
(( $# )) || { echo "usage: bash bench/pg_cost.sh BINARY..." >&2; exit 2; }

work="$(mktemp -d)"
server=""
db=""
cleanup() {
    [[ -n "$server" ]] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    [[ -n "$db" ]] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
export GATEHOUSE_LOG=warn
unset GATEHOUSE_CONFIG

# "LOCAL-PORT SEGMENTS" for each connection of process $1 to 5432: the TCP segments
# carrying data it sent (`ss -i`'s data_segs_out).
segments() {
    ss -tnpiH state established '( dport = :5432 )' 2>/dev/null | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
for head, info in zip(lines[::2], lines[1::2]):
    owner = re.search(r"pid=(\d+)", head)
    segs = re.search(r"data_segs_out:(\d+)", info)
    if owner and owner.group(1) == sys.argv[1] and segs:
        print(head.split()[2].rsplit(":", 1)[1], segs.group(1))' "$1"
}
# Sampled every 0.1 s while the load runs: a connection the pool closes meanwhile (the
# load generator's requests cut off at its end leave theirs mid-statement, and those
# are closed, not reused) still counts up to its last sample.
sample_segments() {
    while :; do segments "$1" >>"$2"; echo "--" >>"$2"; sleep 0.1; done
}
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
db_cpu_s() {
    local p total=0
    for p in $(psql -At -h 127.0.0.1 -U postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'" postgres); do
        [[ -r "/proc/$p/stat" ]] && total=$(awk -v t="$total" '{print t + ($14 + $15) / 100}' "/proc/$p/stat")
    done
    echo "$total"
}

# measure BINARY LABEL PATH: one scenario's figures as a table row.
measure() {
    local bin="$1" label="$2" path="$3" s0 s1 c0 c1 d0 d1 out requests
    segments "$server" >"$work/s0"; c0=$(cpu_s "$server"); d0=$(db_cpu_s)
    : >"$work/samples"
    sample_segments "$server" "$work/samples" &
    local sampler=$!
    [[ "$callgrind" == 1 ]] && callgrind_control -z "$server" >/dev/null 2>&1
    out=$(wrk -t1 -c"$conc" -d"${seconds}s" -s "$root/bench/wrk.lua" "http://127.0.0.1:$port$path" | grep '^{')
    [[ "$callgrind" == 1 ]] && callgrind_control -d "$label" "$server" >/dev/null 2>&1
    sleep 0.3; kill "$sampler"; wait "$sampler" 2>/dev/null || true
    c1=$(cpu_s "$server"); d1=$(db_cpu_s)
    # Per connection: its last count seen minus its count before (0 if opened since).
    s1=$(python3 - "$work/s0" "$work/samples" <<'PY'
import sys
before = dict(l.split() for l in open(sys.argv[1]) if l.strip())
last = {}
for line in open(sys.argv[2]):
    if line.strip() and line.strip() != "--":
        port, segs = line.split()
        last[port] = int(segs)
print(sum(v - int(before.get(p, 0)) for p, v in last.items()))
PY
)
    s0=0
    requests=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["requests"] - d["errors"])' "$out")
    local ir=""
    if [[ "$callgrind" == 1 ]]; then
        sleep 1
        ir=$(python3 - "$work" <<'PY'
import glob, os, re, sys
latest = max(glob.glob(f"{sys.argv[1]}/callgrind.out.*"), key=os.path.getmtime)
total = 0
for line in open(latest):
    m = re.match(r"(summary|totals): (\d+)", line)
    if m:
        total = int(m.group(2))
print(total)
PY
)
        # CALLGRIND_KEEP=DIR keeps each dump, for callgrind_annotate --inclusive=yes.
        if [[ -n "${CALLGRIND_KEEP:-}" ]]; then
            mkdir -p "$CALLGRIND_KEEP"
            cp "$(ls -t "$work"/callgrind.out.* | head -1)" \
                "$CALLGRIND_KEEP/$(basename "$bin")-$([[ "$sqlite" == 1 ]] && echo sqlite || echo pg)-${label%% *}.out"
        fi
    fi
    python3 - "$(basename "$bin")" "$label" "$requests" "$s0" "$s1" "$c0" "$c1" "$d0" "$d1" "$ir" <<'PY'
import sys
name, label, n, s0, s1, c0, c1, d0, d1, ir = sys.argv[1:]
n = max(int(n), 1)
row = [name, label, str(n), f"{(int(s1) - int(s0)) / n:.2f}"]
if ir:
    row.append(f"{int(ir) / n / 1e6:.3f}")
else:
    row += [f"{(float(c1) - float(c0)) * 1000 / n:.3f}", f"{(float(d1) - float(d0)) * 1000 / n:.3f}"]
print("| " + " | ".join(row) + " |")
PY
}

# one BINARY: a fresh database and server, provisioned, then S1 and S6.
one() {
    local bin="$1" dir="$work/data.$RANDOM"
    local url="" gh envs
    if [[ "$sqlite" == 1 ]]; then
        envs=(-u GATEHOUSE_DATABASE_URL)
    else
        db="gh_pgcost_$$_$RANDOM"
        psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
        url="postgres://postgres@127.0.0.1:5432/$db"
        envs=(GATEHOUSE_DATABASE_URL="$url")
    fi
    gh=(env "${envs[@]}" "$bin" --data-dir "$dir")
    "${gh[@]}" migrate >/dev/null
    "${gh[@]}" scopes create --name bench.read --default >/dev/null
    local id secret
    read -r id secret < <("${gh[@]}" apps create --name bench --grant-type client_credentials \
        --redirect-uri https://app.example.com/callback |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
    local runner=()
    [[ "$callgrind" == 1 ]] && runner=(valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" --collect-atstart=yes)
    # env before valgrind: valgrind follows no exec, so it must run the server itself.
    env "${envs[@]}" "${runner[@]}" "$bin" serve --listen "127.0.0.1:$port" \
        --public-url "http://127.0.0.1:$port" --data-dir "$dir" >"$work/server.log" 2>&1 &
    server=$!
    local i
    for i in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
        sleep 0.2
    done
    export WRK_METHOD=POST WRK_AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
    export WRK_BODY="grant_type=client_credentials&scope=bench.read"
    # Warm-up: keys made (minutes under callgrind: one token first), caches filled,
    # the pool's connections open.
    for i in $(seq 1 600); do
        curl -fsS -o /dev/null -u "$id:$secret" -d "$WRK_BODY" \
            "http://127.0.0.1:$port/oauth2/default/v1/token" 2>/dev/null && break
        sleep 1
    done
    wrk -t1 -c"$conc" -d2s -s "$root/bench/wrk.lua" "http://127.0.0.1:$port/oauth2/default/v1/token" >/dev/null
    measure "$bin" "S1 client_credentials" /oauth2/default/v1/token
    local access
    access=$(curl -fsS -u "$id:$secret" -d "$WRK_BODY" "http://127.0.0.1:$port/oauth2/default/v1/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    export WRK_BODY="token=$access&token_type_hint=access_token"
    measure "$bin" "S6 introspection" /oauth2/default/v1/introspect
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    [[ -n "$db" ]] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres
    db=""
}

echo "pg_cost: $(date -u +%H:%MZ), ${seconds}s per scenario, concurrency $conc, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$callgrind" == 1 ]]; then
    echo "| build | scenario | requests | trips/req | server M instructions/req |"
    echo "| --- | --- | ---: | ---: | ---: |"
else
    echo "| build | scenario | requests | trips/req | server CPU ms/req | backends CPU ms/req |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
fi
for r in $(seq 1 "$rounds"); do
    for bin in "$@"; do one "$bin"; done
done
