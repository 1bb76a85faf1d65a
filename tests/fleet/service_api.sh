#!/usr/bin/env bash
# secretsd reaches secrets only through the extension's service API of
# pgsecrets 0.3.0 (README "Service API"): against a database without the
# extension, or with 0.2.0, it refuses to start (exit 1) before applying any
# migration, naming the version it needs and how to update; after ALTER
# EXTENSION pgsecrets UPDATE it migrates and serves. Neither the functions
# its migrations leave nor the SQL in service/ (secretsctl's service/secretsctl/
# aside) name a table or view of the extension.
source "$(dirname "$0")/support.bash"

fleet_db fleet_extension_version
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$FLEET_DB" "$@"; }
# migrate: `secretsd migrate` with start_secretsd's environment; prints its exit status.
migrate() {
  local rc=0
  env -i PATH="$PATH" HOME="$WORK" DATABASE_URL="$(direct_url)" PORT=55790 BIND=127.0.0.1 \
    AUTH_SECRET_KEY="$AUTH_KEY" ADMIN_API_KEY="$ADMIN_KEY" \
    SECRETSD_ALLOW_WEAK_ARGON2=1 SECRETSD_ARGON2_OPSLIMIT=1 SECRETSD_ARGON2_MEMLIMIT=65536 \
    SECRETSD_MIGRATIONS_DIR="$PROJECT_SOURCE_DIR/migrations" SECRETSD_WEB_DIR="$PROJECT_SOURCE_DIR/service/web" \
    "$SECRETSD" migrate >"$WORK/migrate.log" 2>&1 || rc=$?
  echo "$rc"
}
logged() { if grep -qF -- "$2" "$WORK/migrate.log"; then pass "$1"; else fail "$1"; cat "$WORK/migrate.log" >&2; fi; }

q -c "DROP EXTENSION pgsecrets"
expect_eq "no extension: secretsd exits 1" 1 "$(migrate)"
logged "no extension: it says so" "extension pgsecrets is not installed in this database; secretsd needs version 0.3.0"

q -c "CREATE EXTENSION pgsecrets VERSION '0.2.0'"
expect_eq "pgsecrets 0.2.0: secretsd exits 1" 1 "$(migrate)"
logged "pgsecrets 0.2.0: it names the version and the update" \
  "refusing to start: extension pgsecrets is at version 0.2.0; secretsd needs 0.3.0"
logged "pgsecrets 0.2.0: it names the statement" "ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'"
expect_eq "pgsecrets 0.2.0: no migration was applied" t "$(q -c "SELECT to_regclass('secretsd.schema_migrations') IS NULL")"

q -c "ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'"
expect_eq "after the update: secretsd migrate exits 0" 0 "$(migrate)"
expect_eq "after the update: every migration is applied" "$(ls "$PROJECT_SOURCE_DIR"/migrations/*.sql | wc -l)" \
  "$(q -c "SELECT count(*) FROM secretsd.schema_migrations")"

# The extension's tables and views, from the catalog.
relations=$(q -c "SELECT string_agg(relname, '|' ORDER BY relname) FROM pg_class
                   WHERE relnamespace = 'secrets'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'f')")
expect_eq "the extension's tables and views are known" 1 "$(grep -c 'secret_versions' <<<"$relations")"
expect_eq "no function that secretsd's migrations leave names a table or view of the extension" "" \
  "$(q -c "SELECT string_agg(p.oid::regprocedure::text, ' ') FROM pg_proc p
            WHERE p.pronamespace = 'secretsd'::regnamespace AND p.prosrc ~ ('secrets\.(' || '$relations' || ')\M')")"
expect_eq "no SQL in service/ (secretsctl aside) names a table or view of the extension" "" \
  "$(grep -rnE "secrets\.($relations)\b" "$PROJECT_SOURCE_DIR/service" --include='*.cpp' --include='*.h' \
      | grep -v "^$PROJECT_SOURCE_DIR/service/secretsctl/" || true)"

start_secretsd A 55790 "$(direct_url)"
expect_eq "after the update: /ready" 200 "$(status_of 55790 GET /ready)"
finish
