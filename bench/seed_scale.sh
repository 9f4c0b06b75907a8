#!/usr/bin/env bash
# Seeds a Gatehouse database (already migrated, e.g. by `gatehouse serve` once) with a
# large, live population, for bench/run.sh's scale run (SCALE=1), in SQL alone
# (recursive CTEs on SQLite, generate_series on PostgreSQL), so it takes minutes:
#
#   USERS users (default 1,000,000), each with a live session;
#   TOKENS redeemed authorization codes whose access tokens are still live (kept for
#     replay revocation), TOKENS refresh tokens in TOKENS/10 families (one current token
#     and nine rotated within the last 30 days each), TOKENS System Log events within
#     the 90-day retention, spread evenly over the last 89 days (default 10,000,000
#     each; `published` in milliseconds, as the System Log keeps it since migration 23).
#
# Every row is live at the time of seeding, so the janitor finds nothing to delete and
# a scenario measured on the seeded database differs from the empty one by the size of
# the data alone. Usage:
#   bash bench/seed_scale.sh sqlite PATH/gatehouse.db
#   bash bench/seed_scale.sh postgres postgres://postgres@127.0.0.1:5432/DB
# Needs the sqlite3 or psql client. USERS and TOKENS override the sizes.
set -euo pipefail
backend="${1:?usage: seed_scale.sh sqlite|postgres PATH|URL}"
target="${2:?usage: seed_scale.sh sqlite|postgres PATH|URL}"
users="${USERS:-1000000}"
tokens="${TOKENS:-10000000}"
families=$(( tokens / 10 ))
now=$(date +%s)
(( users > 0 && families > 0 )) || { echo "USERS and TOKENS must be at least 1 and 10" >&2; exit 2; }

case "$backend" in
sqlite)
    command -v sqlite3 >/dev/null || { echo "seed_scale.sh needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
    sqlite3 "$target" <<SQL
.timeout 60000
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $users)
INSERT INTO users (id, login, login_key, email, first_name, last_name, password_hash, status,
                   created_at, updated_at, profile_extra, activated_at, status_changed_at)
SELECT printf('00uscale%010d', i), printf('user%d@scale.example.com', i), printf('user%d@scale.example.com', i),
       printf('user%d@scale.example.com', i), 'Scale', printf('User %d', i),
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2NhbGVzYWx0c2NhbGVzYWx0\$c2NhbGVoYXNoc2NhbGVoYXNoc2NhbGVoYXNoc2NhbGVo',
       'ACTIVE', $now - 86400, $now - 86400, '{}', $now - 86400, $now - 86400
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $users)
INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at)
SELECT randomblob(32), printf('00uscale%010d', i), $now - i % 3600, $now - i % 3600, $now + 86400 FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $tokens)
INSERT INTO authorization_codes (code_hash, server_id, client_id, user_id, redirect_uri, scope, nonce,
    auth_time, created_at, expires_at, redeemed_at, access_jti, access_expires_at)
SELECT randomblob(32), 'default', '0oascale', printf('00uscale%010d', 1 + i % $users),
       'https://app.example.com/callback', 'openid profile email', 'n', $now - 600, $now - 600,
       $now + 86400, $now - 590, printf('AT.scale%d', i), $now + 86400
FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $families)
INSERT INTO refresh_families (id, server_id, client_id, user_id, scope, auth_time, created_at,
    expires_at, last_used_at)
SELECT printf('rfscale%d', i), 'default', '0oascale', printf('00uscale%010d', 1 + i % $users),
       'openid offline_access', $now - 86400, $now - 86400, $now + 86400 * 60, $now - 60
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $tokens - 1)
INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at, idle_expires_at, rotated_at,
    access_jti, access_expires_at)
SELECT randomblob(32), printf('rfscale%d', 1 + i / 10), 'openid offline_access', $now - 86400 + i % 10,
       $now + 86400 * 7, CASE WHEN i % 10 = 9 THEN NULL ELSE $now - 86400 + i % 10 + 1 END,
       printf('AT.rt%d', i), $now + 3600
FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $tokens)
INSERT INTO system_log (uuid, published, event_type, outcome_result, actor_id, target_ids, event)
SELECT printf('scale-%d', i), ($now - 86400 * 89) * 1000 + i * (86400 * 89 * 1000 / $tokens), 'user.authentication.sso', 'SUCCESS',
       printf('00uscale%010d', 1 + i % $users), printf(' 00uscale%010d 0oascale ', 1 + i % $users),
       printf('{"uuid":"scale-%d","eventType":"user.authentication.sso","severity":"INFO","displayMessage":"User single sign on to app","outcome":{"result":"SUCCESS"},"actor":{"id":"00uscale%010d","type":"User"},"client":{"ipAddress":"127.0.0.1"}}', i, 1 + i % $users)
FROM n;
COMMIT;
ANALYZE;
SQL
    ;;
postgres)
    command -v psql >/dev/null || { echo "seed_scale.sh needs psql (apt-get install postgresql-client)" >&2; exit 1; }
    psql -q -v ON_ERROR_STOP=1 "$target" <<SQL
SET synchronous_commit = off;
INSERT INTO users (id, login, login_key, email, first_name, last_name, password_hash, status,
                   created_at, updated_at, profile_extra, activated_at, status_changed_at)
SELECT format('00uscale%s', lpad(i::text, 10, '0')), format('user%s@scale.example.com', i),
       format('user%s@scale.example.com', i), format('user%s@scale.example.com', i), 'Scale', format('User %s', i),
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2NhbGVzYWx0c2NhbGVzYWx0\$c2NhbGVoYXNoc2NhbGVoYXNoc2NhbGVoYXNoc2NhbGVo',
       'ACTIVE', $now - 86400, $now - 86400, '{}', $now - 86400, $now - 86400
FROM generate_series(1, $users) AS i;
INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at)
SELECT sha256(('session' || i)::bytea), format('00uscale%s', lpad(i::text, 10, '0')), $now - i % 3600,
       $now - i % 3600, $now + 86400
FROM generate_series(1, $users) AS i;
INSERT INTO authorization_codes (code_hash, server_id, client_id, user_id, redirect_uri, scope, nonce,
    auth_time, created_at, expires_at, redeemed_at, access_jti, access_expires_at)
SELECT sha256(('code' || i)::bytea), 'default', '0oascale', format('00uscale%s', lpad((1 + i % $users)::text, 10, '0')),
       'https://app.example.com/callback', 'openid profile email', 'n', $now - 600, $now - 600,
       $now + 86400, $now - 590, 'AT.scale' || i, $now + 86400
FROM generate_series(1, $tokens) AS i;
INSERT INTO refresh_families (id, server_id, client_id, user_id, scope, auth_time, created_at,
    expires_at, last_used_at)
SELECT 'rfscale' || i, 'default', '0oascale', format('00uscale%s', lpad((1 + i % $users)::text, 10, '0')),
       'openid offline_access', $now - 86400, $now - 86400, $now + 86400 * 60, $now - 60
FROM generate_series(1, $families) AS i;
INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at, idle_expires_at, rotated_at,
    access_jti, access_expires_at)
SELECT sha256(('refresh' || i)::bytea), 'rfscale' || (1 + i / 10), 'openid offline_access', $now - 86400 + i % 10,
       $now + 86400 * 7, CASE WHEN i % 10 = 9 THEN NULL ELSE $now - 86400 + i % 10 + 1 END,
       'AT.rt' || i, $now + 3600
FROM generate_series(0, $tokens - 1) AS i;
INSERT INTO system_log (uuid, published, event_type, outcome_result, actor_id, target_ids, event)
SELECT 'scale-' || i, ($now::bigint - 86400 * 89) * 1000 + i::bigint * (86400::bigint * 89 * 1000 / $tokens), 'user.authentication.sso', 'SUCCESS',
       format('00uscale%s', lpad((1 + i % $users)::text, 10, '0')),
       format(' 00uscale%s 0oascale ', lpad((1 + i % $users)::text, 10, '0')),
       format('{"uuid":"scale-%s","eventType":"user.authentication.sso","severity":"INFO","displayMessage":"User single sign on to app","outcome":{"result":"SUCCESS"},"actor":{"id":"00uscale%s","type":"User"},"client":{"ipAddress":"127.0.0.1"}}',
              i, lpad((1 + i % $users)::text, 10, '0'))
FROM generate_series(1, $tokens) AS i;
VACUUM ANALYZE;
SQL
    ;;
*)
    echo "usage: seed_scale.sh sqlite|postgres PATH|URL" >&2; exit 2 ;;
esac
echo "seeded $users users (and sessions), $tokens codes, $tokens refresh tokens in $families families, $tokens System Log events" >&2
