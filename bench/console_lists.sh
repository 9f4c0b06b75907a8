#!/usr/bin/env bash
# The admin console's lists and searches at scale (issue 17), timed through HTTP: each
# request 5 times with curl (`-w %{time_total}`), the median printed in milliseconds.
# Run by hand, never in CI, against a server on a database seeded by bench/seed_scale.sh
# (1,000,000 users, named `user{i}@scale.example.com`, first name `Scale`, last name
# `User {i}`; System Log events `user.authentication.sso` by actor `00uscale{i:010}`):
#
#   gatehouse --data-dir DIR migrate                     # SQLite (or --database-url postgres://…)
#   bash bench/seed_scale.sh sqlite DIR/gatehouse.db     # or: postgres URL
#   gatehouse --data-dir DIR serve --listen 127.0.0.1:18431 &
#   TOKEN=$(gatehouse --data-dir DIR api-tokens create --name bench | jq -r .token)
#   bash bench/console_lists.sh http://127.0.0.1:18431 "$TOKEN" [LABEL]
#
# Prints one Markdown table row per request: what it is, its median, the rows it returned.
set -euo pipefail
base="${1:?usage: console_lists.sh BASE_URL TOKEN [LABEL]}"
token="${2:?usage: console_lists.sh BASE_URL TOKEN [LABEL]}"
label="${3:-}"
runs="${RUNS:-5}"
now=$(date -u +%s)
day_ago=$(date -u -d "@$((now - 86400))" +%Y-%m-%dT%H:%M:%S.000Z)
week_ago=$(date -u -d "@$((now - 7 * 86400))" +%Y-%m-%dT%H:%M:%S.000Z)
long_ago=$(date -u -d "@$((now - 89 * 86400))" +%Y-%m-%dT%H:%M:%S.000Z)

# name|path (the query already URL-encoded)
requests=(
    "users: first page (200)|/api/v1/users"
    "users: second page (after=)|/api/v1/users?after=00uscale0000000200"
    "users: profile.lastName eq|/api/v1/users?search=profile.lastName%20eq%20%22User%20500000%22"
    "users: profile.firstName eq (every user matches)|/api/v1/users?search=profile.firstName%20eq%20%22Scale%22"
    "users: profile.email eq|/api/v1/users?search=profile.email%20eq%20%22user77777%40scale.example.com%22"
    "users: profile.login eq (any case)|/api/v1/users?search=profile.login%20eq%20%22USER4242%40scale.example.com%22"
    "users: profile.login sw (11 match)|/api/v1/users?search=profile.login%20sw%20%22user12345%22"
    "users: profile.lastName sw, any case (11 match)|/api/v1/users?search=profile.lastName%20sw%20%22user%2054321%22"
    "users: profile.firstName sw (every user matches)|/api/v1/users?search=profile.firstName%20sw%20%22sca%22"
    "users: profile.email co (10 match)|/api/v1/users?search=profile.email%20co%20%2212345%40%22"
    "users: profile.lastName co, any case|/api/v1/users?search=profile.lastName%20co%20%22ER%20987654%22"
    "users: profile.login co (1,000,000 match)|/api/v1/users?search=profile.login%20co%20%22scale%22"
    "users: q= prefix of login, email, names|/api/v1/users?q=user31415"
    "users: filter=status eq ACTIVE (every user)|/api/v1/users?filter=status%20eq%20%22ACTIVE%22"
    "users: filter=status eq SUSPENDED (none)|/api/v1/users?filter=status%20eq%20%22SUSPENDED%22"
    "groups: q= name prefix|/api/v1/groups?q=Every"
    "apps: q= label prefix|/api/v1/apps?q=Demo"
    "logs: eventType eq, since 24 h|/api/v1/logs?since=${day_ago}&until=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%S.000Z)&filter=eventType%20eq%20%22user.authentication.sso%22"
    "logs: eventType eq, since 7 days|/api/v1/logs?since=${week_ago}&filter=eventType%20eq%20%22user.authentication.sso%22"
    "logs: actor.id eq, since 89 days|/api/v1/logs?since=${long_ago}&filter=actor.id%20eq%20%2200uscale0000500000%22"
    "logs: target.id eq, since 89 days|/api/v1/logs?since=${long_ago}&filter=target.id%20eq%20%2200uscale0000500000%22"
    "logs: since 24 h|/api/v1/logs?since=${day_ago}&until=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%S.000Z)"
    "dashboard: since 24 h|/api/v1/dashboard?since=${day_ago}"
)

for entry in "${requests[@]}"; do
    name="${entry%%|*}"
    path="${entry#*|}"
    times=()
    rows="?"
    for _ in $(seq "$runs"); do
        out=$(curl -sS -o /tmp/console_lists.$$ -w '%{http_code} %{time_total}' \
            -H "Authorization: SSWS $token" "$base$path")
        code="${out%% *}"
        [[ "$code" == 200 ]] || { echo "$name: HTTP $code: $(head -c 300 /tmp/console_lists.$$)" >&2; exit 1; }
        times+=("${out#* }")
    done
    rows=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d) if isinstance(d,list) else "-")' /tmp/console_lists.$$)
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%.1f", $1 * 1000 }')
    echo "| $name | $label | $median | $rows |"
done
rm -f /tmp/console_lists.$$
