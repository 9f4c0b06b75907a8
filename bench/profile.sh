#!/usr/bin/env bash
# CPU profile of the server under bench load (issue 14): starts GATEHOUSE_BIN (default
# target/release/gatehouse) on a fresh SQLite data directory, provisions what
# bench/run.sh provisions, and while S1 (client_credentials, wrk) runs records the
# server with
#   perf record -e cpu-clock --call-graph dwarf -F 250 -p PID
# for SECONDS_EACH seconds (default 8), then folds the stacks and draws a flame graph
# with inferno (`cargo install inferno --root DIR`; INFERNO names DIR/bin, not a
# project dependency). Writes bench/flame-<LABEL>-<SCENARIO>.svg (LABEL, default
# "profile") and prints the CPU by thread, by object and the hottest frames by self
# time (FOLDED_DIR: a directory to keep the folded stacks in). SCENARIOS (default "s1"), any of: s1 (client_credentials, RS256), s1-es256 (the
# same on an ES256 server), s3 (the SSO code flow, RS256), s3-es256, s5 (refresh with
# rotation, RS256). The S3 and S5 drivers sign in once per worker before their loop
# (Argon2id): perf starts 2 s into them, so the window holds the flows only.
# TRACE=1: instead of sampling, count the server's system calls over the same window
# (`perf trace -s`) and print them per HTTP response (hyper writes each response with
# one `writev`): counts, unlike CPU time, do not move with the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${SECONDS_EACH:-8}"
conc="${CONCURRENCY:-16}"
label="${LABEL:-profile}"
scenarios="${SCENARIOS:-s1}"
port="${PORT:-18121}"
bin="${GATEHOUSE_BIN:-$root/target/release/gatehouse}"
inferno="${INFERNO:-}"
collapse="${inferno:+$inferno/}inferno-collapse-perf"
flamegraph="${inferno:+$inferno/}inferno-flamegraph"
for tool in perf wrk curl python3 "$collapse" "$flamegraph"; do
    command -v "$tool" >/dev/null || { echo "bench/profile.sh needs $tool" >&2; exit 1; }
done
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
flows="$root/bench/flows/target/release/gatehouse-flows"  # only to wait for the server

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
export GATEHOUSE_LOG=warn
unset GATEHOUSE_DATABASE_URL GATEHOUSE_CONFIG
data="$work/data"
base="http://127.0.0.1:$port"
"$bin" serve --listen "127.0.0.1:$port" --public-url "$base" --data-dir "$data" >>"$work/server.log" 2>&1 &
server_pid=$!
"$flows" wait "$base/oauth2/default/.well-known/openid-configuration" 5 >/dev/null
echo 'bench password 1' | "$bin" --data-dir "$data" users create --login bench@example.com --password-stdin >/dev/null
"$bin" --data-dir "$data" scopes create --name bench.read --default >/dev/null
read -r id secret < <("$bin" --data-dir "$data" apps create --name bench \
    --redirect-uri https://app.example.com/callback --grant-type authorization_code \
    --grant-type refresh_token --grant-type client_credentials |
    python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
# An ES256 server whose policy allows the code flow (as bench/run.sh provisions it).
es=$("$bin" --data-dir "$data" authz-servers create --name es256 --audience api://es256 --signing-alg ES256 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
policy=$("$bin" --data-dir "$data" policies create --server "$es" --name bench |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$bin" --data-dir "$data" policies add-rule --server "$es" --policy "$policy" --name bench \
    --grant-type authorization_code --grant-type client_credentials >/dev/null
"$bin" --data-dir "$data" scopes create --server "$es" --name bench.read --default >/dev/null
sleep 3  # the new server's keys are made in the background and sign once published 2 s

# profile NAME DELAY COMMAND...: perf records the server for SECONDS_EACH seconds,
# starting DELAY seconds after COMMAND.
profile() {
    local name="$1" delay="$2"; shift 2
    if [[ -n "${TRACE:-}" ]]; then
        ( sleep "$delay"; exec perf trace -s -p "$server_pid" -o "$work/$name.trace" -- sleep "$seconds" ) &
        local trace_pid=$!
        "$@" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
        wait "$trace_pid"
        echo "== $name: system calls per HTTP response ($label)" >&2
        python3 - "$work/$name.trace" >&2 <<'PY'
import collections, re, sys
calls = collections.Counter()
for line in open(sys.argv[1]):
    m = re.match(r"\s+(\w+)\s+(\d+)\s+\d+\s+[\d.]+", line)
    if m:
        calls[m.group(1)] += int(m.group(2))
responses = calls["writev"] or 1
print(f"  {responses} responses traced")
for name, n in calls.most_common(10):
    print(f"  {name:16s} {n / responses:8.2f}")
PY
        return
    fi
    ( sleep "$delay"; exec perf record -q -e cpu-clock --call-graph dwarf,16384 -F 250 -p "$server_pid" -o "$work/$name.data" -- sleep "$seconds" ) &
    local perf_pid=$!
    "$@" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
    wait "$perf_pid"
    perf script -i "$work/$name.data" 2>/dev/null | "$collapse" >"$work/$name.folded"
    [[ -n "${FOLDED_DIR:-}" ]] && cp "$work/$name.folded" "$FOLDED_DIR/$label-$name.folded"
    "$flamegraph" --title "Gatehouse $label: $name (cpu-clock, $seconds s)" \
        <"$work/$name.folded" >"$root/bench/flame-$label-$name.svg"
    echo "== $name: $(grep -o '"per_second": [0-9.]*' "$work/$name.out" | head -1), $(grep -o '"errors": [0-9]*' "$work/$name.out" | head -1)" >&2
    # Where the CPU went, by thread and by object (the kernel, our binary, libc).
    perf report -i "$work/$name.data" --no-children --sort comm --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -8 >&2 || true
    perf report -i "$work/$name.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -6 >&2 || true
    # Self time by thread and frame, hottest first (aws-lc's assembly has no symbol
    # sizes: perf shows its frames as addresses; `nm -n` on the binary names them).
    perf report -i "$work/$name.data" --no-children --sort comm,symbol --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -25 >&2 || true
}

auth="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
for scenario in $scenarios; do
    case "$scenario" in
    s1 | s1-es256)
        server=default
        [[ "$scenario" == s1-es256 ]] && server="$es"
        WRK_METHOD=POST WRK_AUTH="$auth" WRK_BODY="grant_type=client_credentials&scope=bench.read" \
            profile "$scenario" 0 wrk -t2 -c"$conc" -d"${seconds}s" -s "$root/bench/wrk.lua" "$base/oauth2/$server/v1/token"
        ;;
    s3 | s3-es256)
        extra=()
        [[ "$scenario" == s3-es256 ]] && extra=("$es")
        profile "$scenario" 2 "$flows" sso "$base" "$id" "$secret" bench@example.com 'bench password 1' \
            "$conc" $((seconds + 3)) "${extra[@]}"
        ;;
    s5)
        profile "$scenario" 2 "$flows" refresh "$base" "$id" "$secret" bench@example.com 'bench password 1' \
            "$conc" $((seconds + 3))
        ;;
    *) echo "bench/profile.sh: unknown scenario $scenario" >&2; exit 1 ;;
    esac
done
