-- Attacks found in a security review, each shown to fail.
\set SHOW_CONTEXT never
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'regress_evil') THEN
    CREATE SCHEMA regress_evil AUTHORIZATION regress_bob;
  END IF;
END $$;

-- 1. The household-grant lookup runs as pgsecrets_owner; an operator of the
--    caller's own, ahead of pg_catalog on the search_path, must not reach it
--    (here an "=" on names that is always true would grant every household).
SET SESSION AUTHORIZATION regress_bob;
CREATE OR REPLACE FUNCTION regress_evil.anyeq(name, name) RETURNS bool LANGUAGE sql AS 'SELECT true';
DROP OPERATOR IF EXISTS regress_evil.= (name, name);
CREATE OPERATOR regress_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = regress_evil.anyeq);
SET search_path = regress_evil, pg_catalog;
SELECT 'a'::name = 'b'::name AS hijacked_operator_in_effect;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT secrets.current_household(), secrets.current_privilege();
SELECT count(*) AS a_rows_seen FROM secrets.decrypted_secrets
 WHERE household_id = 'aaaaaaaa-0000-0000-0000-000000000001';
RESET search_path;
RESET SESSION AUTHORIZATION;

-- 2. Maintenance run by a superuser (REFRESH MATERIALIZED VIEW, CREATE
--    INDEX, ANALYZE, autovacuum) evaluates the table owner's code as that
--    owner; it must not inherit the superuser's view of every household.
SET SESSION AUTHORIZATION regress_bob;
CREATE OR REPLACE FUNCTION regress_evil.leak(int) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN (SELECT count(*) FROM secrets.secrets)::text || ' rows, value: ' ||
         coalesce((SELECT d.decrypted_value FROM secrets.decrypted_secrets d
                    WHERE d.household_id = 'aaaaaaaa-0000-0000-0000-000000000001'
                      AND d.key = 'OPENWEATHER_API_KEY' AND d.scope = 'integration'), 'none');
EXCEPTION WHEN others THEN
  RETURN 'error';
END $$;
DROP MATERIALIZED VIEW IF EXISTS regress_evil.loot;
DROP TABLE IF EXISTS regress_evil.bait;
CREATE TABLE regress_evil.bait (x int);
INSERT INTO regress_evil.bait SELECT 1 FROM generate_series(1, 100);
CREATE MATERIALIZED VIEW regress_evil.loot AS
  SELECT regress_evil.leak(x) AS got FROM regress_evil.bait WITH NO DATA;
RESET SESSION AUTHORIZATION;
SELECT regress_evil.leak(1) ~ '^[1-9][0-9]* rows, value: [^n]' AS superuser_itself_sees_values;
REFRESH MATERIALIZED VIEW regress_evil.loot;
SELECT DISTINCT got AS refreshed_by_a_superuser FROM regress_evil.loot;
CREATE INDEX bait_leak_idx ON regress_evil.bait ((regress_evil.leak(x)));
ANALYZE regress_evil.bait;
SELECT array_to_string(most_common_vals, ',') AS analyzed_by_a_superuser
  FROM pg_stats WHERE tablename = 'bait_leak_idx';
SELECT secrets.use_household(NULL);

-- 3. A gateway context set inside a savepoint that is rolled back is gone;
--    one set in a released savepoint stays for the transaction.
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SAVEPOINT s;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'user:savepoint');
SELECT secrets.current_household() AS inside_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT secrets.current_household() IS NULL AS gone_with_the_savepoint;
SELECT secrets.current_privilege() AS privilege_after_rollback;
SAVEPOINT t;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'user:released');
RELEASE SAVEPOINT t;
SAVEPOINT u;
ROLLBACK TO SAVEPOINT u;
SELECT secrets.current_household() AS kept_after_release, secrets.current_actor();
COMMIT;
SELECT secrets.current_household() IS NULL AS gone_after_commit;
RESET SESSION AUTHORIZATION;

-- 4. A forged newest audit entry that names a key version which is not
--    loaded (so its MAC cannot be checked) is reported, and audit_reseal()
--    never vouches for it.
ALTER TABLE secrets.audit_log DISABLE TRIGGER audit_log_append_only;
INSERT INTO secrets.audit_log (household_id, seq, at, actor, db_role, login_role, action,
                               chain_key_version, link, mac)
SELECT h.household_id, h.seq + 1, now(), 'forger', 'forger', 'forger', 'create', 999, '\x', '\x00'
  FROM secrets.audit_heads() h WHERE h.household_id = 'aaaaaaaa-0000-0000-0000-000000000001';
UPDATE secrets.audit_log a SET link = sha256(p.link || secrets.audit_message(a))
  FROM secrets.audit_log p
 WHERE a.actor = 'forger' AND p.household_id = a.household_id AND p.seq = a.seq - 1;
SELECT household_id, reason FROM secrets.verify_audit_chain();
SELECT secrets.audit_reseal() AS resealed;
SELECT household_id, reason FROM secrets.verify_audit_chain();
DELETE FROM secrets.audit_log WHERE actor = 'forger';
ALTER TABLE secrets.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT count(*) AS broken_chains FROM secrets.verify_audit_chain();

-- 5. A gateway context that names a node writes its node's secrets but never
--    administers the household (settings, the audit trail).
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'node:kitchen', 'kitchen');
SELECT secrets.current_privilege() AS node_privilege;
SELECT secrets.configure_household(max_versions => 1);
ROLLBACK;
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'node:kitchen', 'kitchen');
SELECT count(*) AS node_sees_audit FROM secrets.audit_log;
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- 6. The history of a deleted secret is hidden from readers with it, and a
--    re-created secret does not bring old values back.
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT (secrets.set_secret('GONE_SOON', 'gone-v1', 'integration')).version;
SELECT (secrets.set_secret('GONE_SOON', 'gone-v2', 'integration')).version;
SELECT secrets.delete_secret('GONE_SOON', 'integration');
SELECT secrets.use_household(NULL);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_reader;
SELECT count(*) AS reader_sees_deleted_history
  FROM secrets.secret_versions WHERE key = 'GONE_SOON';
SELECT count(*) AS in_history_view FROM secrets.secret_history_view WHERE key = 'GONE_SOON';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT (secrets.set_secret('GONE_SOON', 'reborn', 'integration')).version AS reborn_version;
SELECT secrets.get_secret('GONE_SOON', 'integration', version => 1) AS old_v1,
       secrets.get_secret('GONE_SOON', 'integration', version => 2) AS old_v2;
SELECT secrets.rollback_secret('GONE_SOON', 'integration', 2);
SELECT version FROM secrets.list_secret_versions('GONE_SOON', 'integration');
SELECT secrets.use_household(NULL);
RESET SESSION AUTHORIZATION;
