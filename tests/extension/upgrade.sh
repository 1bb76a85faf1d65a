#!/usr/bin/env bash
# ALTER EXTENSION pgsecrets UPDATE from the released 0.1.0 and 0.2.0, on
# databases populated under 0.1.0 (updated in one step, and 0.1.0 -> 0.2.0
# -> current with writes in between) and under 0.2.0, with the new library:
# values, kept versions, a tombstone, grants and the audit chain survive,
# new writes and the current service API (read_secret) work, and each
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
sql postgres -c "CREATE DATABASE fresh" >/dev/null
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$PROJECT_DIR/extension/pgsecrets.control")

# 1. Databases populated under an old schema, written by the new library:
#    direct    0.1.0, then one ALTER EXTENSION UPDATE to the current version;
#    stepwise  0.1.0, UPDATE TO '0.2.0', more writes, then UPDATE;
#    from020   created at 0.2.0, then UPDATE.
sql postgres -c "CREATE DATABASE direct" -c "CREATE DATABASE stepwise" -c "CREATE DATABASE from020" >/dev/null
sql postgres -c "CREATE ROLE upgrade_app LOGIN" -c "CREATE ROLE upgrade_reader LOGIN" \
  -c "CREATE ROLE upgrade_writer LOGIN" -c "CREATE ROLE upgrade_auditor LOGIN" >/dev/null

# populate DB VERSION: values, a kept version, a node secret, a tombstone,
# read auditing on and an audited read, by the role's only grant; a read
# and a write grant beside it.
populate() {
  local db=$1 version=$2 out
  out=$(sql "$db" -c "CREATE EXTENSION pgsecrets VERSION '$version'" -c "SELECT extversion FROM pg_extension WHERE extname = 'pgsecrets'")
  expect "$db: CREATE EXTENSION pgsecrets VERSION '$version' on the new library" "^$version$" "$out"
  sql "$db" >/dev/null <<SQL
SELECT secrets.grant_household('upgrade_app', '$HH', 'admin');
SELECT secrets.grant_household('upgrade_reader', '$HH', 'read');
SELECT secrets.grant_household('upgrade_writer', '$HH', 'write');
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
  out=$(sql "$db" -c "SET ROLE upgrade_app" -c "SELECT secrets.get_secret('API_KEY', 'integration')")
  expect "$db: the new library serves the $version schema (a role's only grant)" "^second$" "$out"
}

# update DB [VERSION]: ALTER EXTENSION pgsecrets UPDATE [TO VERSION].
update() {
  local db=$1 target=${2:-$current} to="" out
  if [ -n "${2:-}" ]; then to=" TO '$2'"; fi
  out=$(sql "$db" -c "ALTER EXTENSION pgsecrets UPDATE$to" -c "SELECT extversion FROM pg_extension WHERE extname = 'pgsecrets'")
  expect "$db: ALTER EXTENSION pgsecrets UPDATE$to reaches $target" "^$target$" "$out"
}

populate direct 0.1.0
update direct
populate stepwise 0.1.0
update stepwise 0.2.0
out=$(sql stepwise -c "SET ROLE upgrade_app" -c "SELECT (secrets.set_secret('WRITTEN_UNDER_020', 'w', 'integration')).version" \
  -c "SELECT 'chain=' || count(*) FROM secrets.verify_audit_chain()")
expect "stepwise: a write under 0.2.0" "^1$" "$out"
expect "stepwise: the audit chain verifies under 0.2.0" "^chain=0$" "$out"
update stepwise
populate from020 0.2.0
update from020

# 2. Everything written before the updates is there, and the service API of
# the current version works on it.
check_updated() {
  local db=$1 out
  out=$(sql "$db" <<SQL || true
SET ROLE upgrade_app;
SELECT secrets.get_secret('API_KEY', 'integration');
SELECT secrets.get_secret('API_KEY', 'integration', version => 1);
SELECT secrets.get_secret_int('PORT', 'node', 'kitchen');
SELECT secrets.restore_secret('OLD', 'integration') IS NOT NULL;
SELECT 'restored=' || secrets.get_secret('OLD', 'integration');
SELECT 'chain=' || count(*) FROM secrets.verify_audit_chain();
SELECT 'new=' || (secrets.set_secret('NEW_AFTER_UPGRADE', 'new', 'integration')).version;
SELECT count(*) AS reads_before FROM secrets.audit_log WHERE action = 'read' \gset
SELECT 'read_current=' || value || ':' || version || ':' || value_type FROM secrets.read_secret('API_KEY', 'integration');
SELECT 'read_kept=' || value || ':' || version FROM secrets.read_secret('API_KEY', 'integration', version => 1);
SELECT 'read_node=' || value FROM secrets.read_secret('PORT', 'node', 'kitchen');
SELECT 'read_missing=' || count(*) FROM secrets.read_secret('API_KEY', 'integration', version => 99);
SELECT 'reads_audited=' || (count(*) - :reads_before) FROM secrets.audit_log WHERE action = 'read';
SELECT 'chain_after_reads=' || count(*) FROM secrets.verify_audit_chain();
RESET ROLE;
SELECT 'grantee=' || grantee FROM secrets.household_grants WHERE grantee = 'upgrade_app'::regrole;
SQL
)
  expect "$db: the current value reads" "^second$" "$out"
  expect "$db: a kept version reads" "^first$" "$out"
  expect "$db: a typed node secret reads" "^8080$" "$out"
  expect "$db: a tombstone restores" "^restored=tomb$" "$out"
  expect "$db: the audit chain verifies" "^chain=0$" "$out"
  expect "$db: a new write works" "^new=1$" "$out"
  expect "$db: read_secret reads the current version" "^read_current=second:2:string$" "$out"
  expect "$db: read_secret reads a kept version" "^read_kept=first:1$" "$out"
  expect "$db: read_secret reads a node secret" "^read_node=8080$" "$out"
  expect "$db: read_secret: no row for a version not kept" "^read_missing=0$" "$out"
  expect "$db: each read_secret row was read-audited" "^reads_audited=3$" "$out"
  expect "$db: the audit chain verifies after the reads" "^chain_after_reads=0$" "$out"
  expect "$db: grants are carried over to the role" "^grantee=upgrade_app$" "$out"
}
check_updated direct
check_updated stepwise
check_updated from020
# 2b. Household roles (0.3.0): every grant made under 0.1.0 or 0.2.0 keeps
# what it could do (refusals are now SQLSTATE SE009); secretsd's 3-argument
# set_context is still an admin's; the 5-argument one and the 'audit'
# privilege work on the data written before the update.
sql postgres -c "CREATE ROLE upgrade_gateway LOGIN IN ROLE pgsecrets_gateway" >/dev/null
check_roles() {
  local db=$1 out
  out=$(sql "$db" <<SQL || true
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
  EXECUTE call;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END \$\$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
SET ROLE upgrade_reader;
SELECT 'reader_privilege=' || secrets.current_privilege();
SELECT 'reader_value=' || secrets.get_secret('API_KEY', 'integration');
SELECT 'reader_list=' || count(*) FROM secrets.list_secrets();
SELECT 'reader_write=' || pg_temp.try(\$\$SELECT secrets.set_secret('BY_READER', 'x', 'integration')\$\$);
SELECT 'reader_audit=' || pg_temp.try(\$\$SELECT secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10)\$\$);
RESET ROLE;
SET ROLE upgrade_writer;
SELECT 'writer_privilege=' || secrets.current_privilege();
SELECT 'writer_write=' || (secrets.set_secret('BY_WRITER', 'w', 'integration')).version;
SELECT 'writer_value=' || secrets.get_secret('BY_WRITER', 'integration');
SELECT 'writer_purge=' || pg_temp.try(\$\$SELECT secrets.purge_secret('OLD', 'integration')\$\$);
SELECT 'writer_chain=' || pg_temp.try(\$\$SELECT secrets.verify_audit_chain()\$\$);
RESET ROLE;
SET ROLE upgrade_app;
SELECT 'admin_privilege=' || secrets.current_privilege();
SELECT 'admin_oldest=' || seq || ':' || action FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, 2, 1);
SELECT 'admin_settings=' || (secrets.configure_household(max_versions => 9)).max_versions;
RESET ROLE;
SELECT secrets.grant_household('upgrade_auditor', '$HH', 'audit');
SET ROLE upgrade_auditor;
SELECT 'auditor_privilege=' || secrets.current_privilege();
SELECT 'auditor_entries=' || (count(*) > 5) FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000);
SELECT 'auditor_value=' || pg_temp.try(\$\$SELECT secrets.get_secret('API_KEY', 'integration')\$\$);
SELECT 'auditor_chain=' || count(*) FROM secrets.verify_audit_chain();
RESET ROLE;
SET SESSION AUTHORIZATION upgrade_gateway;
BEGIN;
SELECT secrets.set_context('$HH', 'user:1');
SELECT 'gateway3_privilege=' || secrets.current_privilege();
SELECT 'gateway3_write=' || (secrets.set_secret('BY_GATEWAY', 'g', 'integration')).version;
SELECT secrets.set_context('$HH', 'user:2', NULL, 'auditor');
SELECT 'gateway5_privilege=' || secrets.current_privilege();
SELECT 'gateway5_oldest=' || seq || ':' || action FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, 2, 1);
SELECT 'gateway5_value=' || pg_temp.try(\$\$SELECT secrets.get_secret('API_KEY', 'integration')\$\$);
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT 'chain_at_end=' || count(*) FROM secrets.verify_audit_chain();
SQL
)
  expect "$db: a read grant still reads values" "^reader_value=second$" "$out"
  expect "$db: a read grant is still 'read'" "^reader_privilege=read$" "$out"
  expect "$db: a read grant still lists" "^reader_list=[1-9]" "$out"
  expect "$db: a read grant still may not write (SE009)" "^reader_write=SE009$" "$out"
  expect "$db: a read grant may not read the audit trail (SE009)" "^reader_audit=SE009$" "$out"
  expect "$db: a write grant is still 'write'" "^writer_privilege=write$" "$out"
  expect "$db: a write grant still writes" "^writer_write=1$" "$out"
  expect "$db: a write grant still reads" "^writer_value=w$" "$out"
  expect "$db: a write grant still may not purge (SE009)" "^writer_purge=SE009$" "$out"
  expect "$db: a write grant may not check the audit chain (SE009)" "^writer_chain=SE009$" "$out"
  expect "$db: an admin grant is still 'admin'" "^admin_privilege=admin$" "$out"
  expect "$db: an admin grant reads the audit written before the update" "^admin_oldest=1:grant$" "$out"
  expect "$db: an admin grant still configures the household" "^admin_settings=9$" "$out"
  expect "$db: an 'audit' grant after the update" "^auditor_privilege=audit$" "$out"
  expect "$db: an 'audit' grant reads the audit trail" "^auditor_entries=true$" "$out"
  expect "$db: an 'audit' grant reads no value (SE009)" "^auditor_value=SE009$" "$out"
  expect "$db: an 'audit' grant checks the chain" "^auditor_chain=0$" "$out"
  expect "$db: the 3-argument set_context is still an admin's" "^gateway3_privilege=admin$" "$out"
  expect "$db: the 3-argument set_context still writes" "^gateway3_write=1$" "$out"
  expect "$db: set_context with the role auditor" "^gateway5_privilege=audit$" "$out"
  expect "$db: an auditor's context reads the audit written before the update" "^gateway5_oldest=1:grant$" "$out"
  expect "$db: an auditor's context reads no value (SE009)" "^gateway5_value=SE009$" "$out"
  expect "$db: the audit chain verifies after all of it" "^chain_at_end=0$" "$out"
}
check_roles direct
check_roles stepwise
check_roles from020

out=$(sql stepwise -c "SET ROLE upgrade_app" -c "SELECT 'under_020=' || value FROM secrets.read_secret('WRITTEN_UNDER_020', 'integration')")
expect "stepwise: a value written under 0.2.0 reads" "^under_020=w$" "$out"
for db in direct stepwise; do
  out=$(sql "$db" -c "SELECT key_version || ':' || fingerprint_state FROM secrets.key_status()")
  expect "$db: the update recorded the proven key fingerprint of version 2" "^2:match$" "$out"
done

# 3. Each upgraded catalog equals a fresh install.
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
catalog fresh >"$DIR/fresh.catalog" || true
for db in direct stepwise from020; do
  catalog "$db" >"$DIR/$db.catalog" || true
  if [ "$(wc -l <"$DIR/fresh.catalog")" -gt 200 ] && diff -u "$DIR/fresh.catalog" "$DIR/$db.catalog" >"$DIR/$db.diff"; then
    pass "$db: the upgraded catalog equals a fresh $current install ($(wc -l <"$DIR/fresh.catalog") entries)"
  else
    fail "$db: the upgraded catalog differs from a fresh install"; head -40 "$DIR/$db.diff"
  fi
done

# 4. The released scripts never change.
if git -C "$PROJECT_DIR" rev-parse --git-dir >/dev/null 2>&1 && git -C "$PROJECT_DIR" cat-file -e 6d69841 2>/dev/null; then
  if git -C "$PROJECT_DIR" diff --quiet 6d69841 -- sql/pgsecrets--0.1.0.sql; then
    pass "sql/pgsecrets--0.1.0.sql is byte for byte the released script"
  else fail "sql/pgsecrets--0.1.0.sql was changed after its release"; fi
fi
# Every released script (sql/RELEASED.sha256) has its released checksum.
while read -r sum file; do
  if [ "$(cd "$PROJECT_DIR/sql" && sha256sum "$file" | cut -d' ' -f1)" = "$sum" ]; then
    pass "sql/$file has the released checksum"
  else fail "sql/$file was changed after its release (checksum)"; fi
done <"$PROJECT_DIR/sql/RELEASED.sha256"

finish
