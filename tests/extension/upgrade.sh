#!/usr/bin/env bash
# ALTER EXTENSION pgsecrets UPDATE from the released 0.1.0, on a database
# populated under 0.1.0 with the new library: values, kept versions, a
# tombstone, grants and the audit chain survive, new writes work, and the
# upgraded schema equals a fresh install of the current version (catalog
# compared: functions, tables, columns, constraints, indexes, policies,
# triggers, views, grants, dumped tables).
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"

DIR=$(mktemp -d /tmp/pgsecrets-upgrade.XXXXXX)
PORT=${PGSECRETS_UPGRADE_PORT:-55520}
HH=eeeeeeee-0000-0000-0000-00000000000e
trap 'cluster_stop "$DIR"; [ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"' EXIT
chmod 0755 "$DIR"

source "$(dirname "$0")/../lib/suite.bash"
sql() { local db=$1; shift; psql -X -At -h "$DIR/run" -p "$PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@" 2>&1; }

mkdir -p "$DIR/keys"; chown "$(cluster_owner)" "$DIR/keys"
write_key_file "$DIR/keys/root.key" 1 2
cluster_init "$DIR" "$PORT"
cluster_start "$DIR"
sql postgres -c "CREATE DATABASE upgraded" -c "CREATE DATABASE fresh" >/dev/null
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$PROJECT_DIR/extension/pgsecrets.control")

# 1. A 0.1.0 database, written by the new library.
out=$(sql upgraded -c "CREATE EXTENSION pgsecrets VERSION '0.1.0'" -c "SELECT extversion FROM pg_extension WHERE extname = 'pgsecrets'")
expect "CREATE EXTENSION pgsecrets VERSION '0.1.0' on the new library" "^0.1.0$" "$out"
sql upgraded >/dev/null <<SQL
CREATE ROLE upgrade_app LOGIN;
SELECT secrets.grant_household('upgrade_app', '$HH', 'admin');
BEGIN;
SELECT secrets.use_household('$HH');
SELECT secrets.set_secret('API_KEY', 'first', 'integration');
SELECT secrets.set_secret('API_KEY', 'second', 'integration');
SELECT secrets.set_secret('PORT', '8080', 'node', 'int', node_id => 'kitchen');
SELECT secrets.set_secret('OLD', 'tomb', 'integration');
SELECT secrets.delete_secret('OLD', 'integration');
SELECT secrets.configure_household(audit_reads => true);
SELECT secrets.get_secret('API_KEY', 'integration');
COMMIT;
SQL
out=$(sql upgraded -c "SET ROLE upgrade_app" -c "SELECT secrets.get_secret('API_KEY', 'integration')")
expect "the new library serves the 0.1.0 schema (a role's only grant, by name)" "^second$" "$out"

# 2. The update.
out=$(sql upgraded -c "ALTER EXTENSION pgsecrets UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'pgsecrets'")
expect "ALTER EXTENSION pgsecrets UPDATE reaches $current" "^$current$" "$out"

# 3. Everything written under 0.1.0 is there.
out=$(sql upgraded <<SQL || true
SET ROLE upgrade_app;
SELECT secrets.get_secret('API_KEY', 'integration');
SELECT secrets.get_secret('API_KEY', 'integration', version => 1);
SELECT secrets.get_secret_int('PORT', 'node', 'kitchen');
SELECT secrets.restore_secret('OLD', 'integration') IS NOT NULL;
SELECT 'restored=' || secrets.get_secret('OLD', 'integration');
SELECT 'chain=' || count(*) FROM secrets.verify_audit_chain();
SELECT (secrets.set_secret('NEW_AFTER_UPGRADE', 'new', 'integration')).version;
RESET ROLE;
SELECT 'grantee=' || grantee FROM secrets.household_grants;
SQL
)
expect "the current value reads" "^second$" "$out"
expect "a kept version reads" "^first$" "$out"
expect "a typed node secret reads" "^8080$" "$out"
expect "a tombstone restores" "^restored=tomb$" "$out"
expect "the audit chain verifies" "^chain=0$" "$out"
expect "a new write works" "^1$" "$out"
expect "grants are carried over to the role" "^grantee=upgrade_app$" "$out"
out=$(sql upgraded -c "SELECT key_version || ':' || fingerprint_state FROM secrets.key_status()")
expect "the update recorded the proven key fingerprint of version 2" "^2:match$" "$out"

# 4. The upgraded catalog equals a fresh install.
sql fresh -c "CREATE EXTENSION pgsecrets" >/dev/null
catalog() {
  sql "$1" <<'SQL'
SELECT 'function ' || p.oid::regprocedure || ' -> ' || pg_get_function_result(p.oid)
       || ' ' || p.prokind::text || p.provolatile::text || p.proparallel::text || ' strict=' || p.proisstrict
       || ' definer=' || p.prosecdef || ' config=' || coalesce(p.proconfig::text, '')
       || ' owner=' || p.proowner::regrole || ' acl=' || coalesce(p.proacl::text, '')
       || ' src=' || md5(p.prosrc)
  FROM pg_proc p WHERE p.pronamespace = 'secrets'::regnamespace
UNION ALL
SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' owner=' || c.relowner::regrole
       || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
       || ' acl=' || coalesce(c.relacl::text, '') || ' options=' || coalesce(c.reloptions::text, '')
  FROM pg_class c WHERE c.relnamespace = 'secrets'::regnamespace
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
       || ' identity=' || a.attidentity::text
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'secrets'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'secrets'::regnamespace
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'secrets'::regnamespace)
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || coalesce(qual, '') || ' / ' || coalesce(with_check, '')
  FROM pg_policies WHERE schemaname = 'secrets'
UNION ALL
SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text || ' ' || pg_get_triggerdef(oid)
  FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'secrets'::regnamespace)
UNION ALL
SELECT 'view ' || viewname || ' ' || md5(definition) FROM pg_views WHERE schemaname = 'secrets'
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t WHERE t.typnamespace = 'secrets'::regnamespace AND t.typtype = 'c'
       AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
UNION ALL
SELECT 'dumped ' || c::regclass || ' where=' || coalesce(w, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w) WHERE e.extname = 'pgsecrets'
UNION ALL
SELECT 'member ' || pg_describe_object(classid, objid, objsubid)
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgsecrets')
ORDER BY 1;
SQL
}
catalog upgraded >"$DIR/upgraded.catalog" || true
catalog fresh >"$DIR/fresh.catalog" || true
if [ "$(wc -l <"$DIR/fresh.catalog")" -gt 200 ] && diff -u "$DIR/fresh.catalog" "$DIR/upgraded.catalog" >"$DIR/catalog.diff"; then
  pass "the upgraded catalog equals a fresh $current install ($(wc -l <"$DIR/fresh.catalog") entries)"
else
  fail "the upgraded catalog differs from a fresh install"; head -40 "$DIR/catalog.diff"
fi

# 5. The released script never changes.
if git -C "$PROJECT_DIR" rev-parse --git-dir >/dev/null 2>&1 && git -C "$PROJECT_DIR" cat-file -e 6d69841 2>/dev/null; then
  if git -C "$PROJECT_DIR" diff --quiet 6d69841 -- sql/pgsecrets--0.1.0.sql; then
    pass "sql/pgsecrets--0.1.0.sql is byte for byte the released script"
  else fail "sql/pgsecrets--0.1.0.sql was changed after its release"; fi
fi
expect "sql/pgsecrets--0.1.0.sql has the released checksum" "^$(cat "$PROJECT_DIR/sql/RELEASED.sha256" | awk '$2=="pgsecrets--0.1.0.sql"{print $1}')  " \
  "$(cd "$PROJECT_DIR/sql" && sha256sum pgsecrets--0.1.0.sql)"

finish
