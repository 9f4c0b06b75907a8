#!/usr/bin/env bash
# Where the server's resident memory goes under bench load (issue 14): starts
# GATEHOUSE_BIN (default target/release/gatehouse) on a fresh SQLite data directory,
# provisions what bench/run.sh provisions, runs S1, S3 and S5 for SECONDS_EACH (default
# 5) each, and prints the RSS peak and now, the threads, the SQLite files, and the
# anonymous mappings by size (glibc's per-thread malloc arenas are 64 MiB-aligned
# regions). Extra environment for the server goes in SERVER_ENV (e.g.
# SERVER_ENV="MALLOC_ARENA_MAX=2"), so two settings compare within one sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${SECONDS_EACH:-5}"
conc="${CONCURRENCY:-16}"
port="${PORT:-18131}"
bin="${GATEHOUSE_BIN:-$root/target/release/gatehouse}"
cargo build --release --quiet --manifest-path bench/flows/Cargo.toml
flows="$root/bench/flows/target/release/gatehouse-flows"
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
env ${SERVER_ENV:-} "$bin" serve --listen "127.0.0.1:$port" --public-url "$base" --data-dir "$data" >>"$work/server.log" 2>&1 &
server_pid=$!
"$flows" wait "$base/oauth2/default/.well-known/openid-configuration" 5 >/dev/null
echo 'bench password 1' | "$bin" --data-dir "$data" users create --login bench@example.com --password-stdin >/dev/null
"$bin" --data-dir "$data" scopes create --name bench.read --default >/dev/null
read -r id secret < <("$bin" --data-dir "$data" apps create --name bench \
    --redirect-uri https://app.example.com/callback --grant-type authorization_code \
    --grant-type refresh_token --grant-type client_credentials |
    python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
sleep 1
status() { awk -v f="$1:" '$1 == f {print int($2 / 1024)}' "/proc/$server_pid/status"; }
echo "idle: RSS $(status VmRSS) MB" >&2
WRK_METHOD=POST WRK_AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" \
    WRK_BODY="grant_type=client_credentials&scope=bench.read" \
    wrk -t2 -c"$conc" -d"${seconds}s" -s "$root/bench/wrk.lua" "$base/oauth2/default/v1/token" >/dev/null
echo "after S1: RSS $(status VmRSS) MB, peak $(status VmHWM) MB" >&2
args=("$base" "$id" "$secret" bench@example.com 'bench password 1' "$conc" "$seconds")
"$flows" sso "${args[@]}" >/dev/null
echo "after S3: RSS $(status VmRSS) MB, peak $(status VmHWM) MB" >&2
"$flows" refresh "${args[@]}" >/dev/null
echo "after S5: RSS $(status VmRSS) MB, peak $(status VmHWM) MB" >&2
echo "threads: $(ls "/proc/$server_pid/task" | wc -l); database files: $(du -sh "$data" | cut -f1)" >&2
grep -E '^(Rss|Anonymous|Shared_Clean|Private_Clean|Private_Dirty)' "/proc/$server_pid/smaps_rollup" | tr -s ' ' | tr '\n' ';' >&2; echo >&2
# Anonymous mappings by resident size, largest first: the heap, the arenas, stacks.
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6); range = $1} /^Rss:/ {if ($2 > 1024) print $2 " kB", range, name}' \
    "/proc/$server_pid/smaps" | sort -rn | head -12 >&2
