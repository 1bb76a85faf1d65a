-- Household roles (0.3.0): the privileges read, audit, write and admin, the
-- household roles secretsd passes to set_context (owner -> admin, admin ->
-- admin, writer -> write, reader -> read, auditor -> audit), SQLSTATE SE009
-- for a refused action, scoped apps (key_prefix) and the audit trail API.
\set SHOW_CONTEXT never
\set H '''14141414-0000-0000-0000-000000000014'''
\set OTHER '''14141414-0000-0000-0000-0000000000ff'''

DO $$
BEGIN
  PERFORM 1 FROM pg_roles WHERE rolname = 'regress_r14_read';
  IF NOT FOUND THEN
    CREATE ROLE regress_r14_read LOGIN;
    CREATE ROLE regress_r14_write LOGIN;
    CREATE ROLE regress_r14_audit LOGIN;
    CREATE ROLE regress_r14_admin LOGIN;
    CREATE ROLE regress_r14_both LOGIN IN ROLE regress_r14_read, regress_r14_audit;
  END IF;
END $$;
SELECT secrets.grant_household('regress_r14_read', :H, 'read');
SELECT secrets.grant_household('regress_r14_write', :H, 'write');
SELECT secrets.grant_household('regress_r14_audit', :H, 'audit');
SELECT secrets.grant_household('regress_r14_admin', :H, 'admin');
SELECT grantee, privilege FROM secrets.household_grants WHERE household_id = :H ORDER BY 1::text;

-- The household's secrets: API_KEY (2 versions), two WEATHER_ keys, a
-- node's PORT and a deleted GONE; another household holds a secret too.
BEGIN;
SELECT secrets.use_household(:H);
SELECT (secrets.set_secret('API_KEY', 'one', 'integration')).version;
SELECT (secrets.set_secret('API_KEY', 'two', 'integration')).version;
SELECT (secrets.set_secret('WEATHER_TOKEN', 'sunny', 'integration')).version;
SELECT (secrets.set_secret('WEATHER_CITY', 'Oslo', 'integration')).version;
SELECT (secrets.set_secret('PORT', '8080', 'node', 'int', node_id => 'kitchen')).version;
SELECT (secrets.set_secret('GONE', 'tomb', 'integration')).version;
SELECT secrets.delete_secret('GONE', 'integration');
COMMIT;
BEGIN;
SELECT secrets.use_household(:OTHER);
SELECT (secrets.set_secret('API_KEY', 'other', 'integration')).version;
COMMIT;
-- a ciphertext of H, as secretsd's migration 0005 hands to decrypt_secret
SELECT secrets.encrypt_secret('migrated', :H, 'ctx') AS ct \gset

-- Each call of the service API, tried with and without a gateway context:
-- 'ok', or the SQLSTATE it raised. A call that succeeds is undone, so every
-- role starts from the same household.
CREATE TABLE public.regress_r14_calls (ord int, name text, call text);
INSERT INTO public.regress_r14_calls VALUES
  (1,  'get_secret',           $q$SELECT secrets.get_secret('API_KEY', 'integration')$q$),
  (2,  'get_secret version',   $q$SELECT secrets.get_secret('API_KEY', 'integration', version => 1)$q$),
  (3,  'read_secret',          $q$SELECT * FROM secrets.read_secret('API_KEY', 'integration')$q$),
  (4,  'decrypt_secret',       format('SELECT secrets.decrypt_secret(%L::bytea, %L, %L)', :'ct', :H, 'ctx')),
  (5,  'list_secrets',         $q$SELECT * FROM secrets.list_secrets()$q$),
  (6,  'list_secret_versions', $q$SELECT * FROM secrets.list_secret_versions('API_KEY', 'integration')$q$),
  (7,  'change_events',        $q$SELECT * FROM secrets.change_events(0, 100)$q$),
  (8,  'change_event_kept',    $q$SELECT secrets.change_event_kept(1)$q$),
  (9,  'set_secret',           $q$SELECT secrets.set_secret('API_KEY', 'three', 'integration')$q$),
  (10, 'create_secret',        $q$SELECT secrets.create_secret('NEW_KEY', 'n')$q$),
  (11, 'update_secret',        $q$SELECT secrets.update_secret('API_KEY', value => 'u')$q$),
  (12, 'delete_secret',        $q$SELECT secrets.delete_secret('API_KEY', 'integration')$q$),
  (13, 'restore_secret',       $q$SELECT secrets.restore_secret('GONE', 'integration')$q$),
  (14, 'rollback_secret',      $q$SELECT secrets.rollback_secret('API_KEY', 'integration', 1)$q$),
  (15, 'ensure_secret_exists', $q$SELECT secrets.ensure_secret_exists('ENSURED', 'integration')$q$),
  (16, 'seed_secrets',         $q$SELECT secrets.seed_secrets('[{"key": "SEEDED"}]')$q$),
  (17, 'purge_secret',         $q$SELECT secrets.purge_secret('GONE', 'integration')$q$),
  (18, 'purge_expired',        $q$SELECT secrets.purge_expired_secrets()$q$),
  (19, 'configure_household',  $q$SELECT secrets.configure_household(max_versions => 5)$q$),
  (20, 'household_settings',   $q$SELECT secrets.current_household_settings()$q$),
  (21, 'audit_entries',        $q$SELECT * FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10)$q$),
  (22, 'verify_audit_chain',   $q$SELECT * FROM secrets.verify_audit_chain()$q$),
  (23, 'key_status',           $q$SELECT * FROM secrets.key_status()$q$);
GRANT SELECT ON public.regress_r14_calls TO PUBLIC;

-- role NULL: no set_context (a database role's own grant).
CREATE FUNCTION public.regress_r14_try(role text, call text, key_prefix text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text;
BEGIN
  IF role IS NOT NULL THEN
    PERFORM secrets.set_context('14141414-0000-0000-0000-000000000014', 'user:' || role, NULL, role, key_prefix);
  END IF;
  BEGIN
    EXECUTE call;
    result := 'ok';
    RAISE SQLSTATE 'RG000';   -- undo what the call wrote
  EXCEPTION
    WHEN SQLSTATE 'RG000' THEN NULL;
    WHEN OTHERS THEN result := SQLSTATE;
  END;
  RETURN result;
END $$;

-- The matrix, as secretsd calls it: household role x function.
SET SESSION AUTHORIZATION regress_gateway_login;
SELECT c.name,
       public.regress_r14_try('owner', c.call) AS owner,
       public.regress_r14_try('admin', c.call) AS admin,
       public.regress_r14_try('writer', c.call) AS writer,
       public.regress_r14_try('reader', c.call) AS reader,
       public.regress_r14_try('auditor', c.call) AS auditor
  FROM public.regress_r14_calls c ORDER BY c.ord;
RESET SESSION AUTHORIZATION;

-- The same matrix for database roles granted each privilege (no gateway).
CREATE TABLE public.regress_r14_matrix (ord int, privilege text, result text);
GRANT INSERT ON public.regress_r14_matrix TO PUBLIC;
SET SESSION AUTHORIZATION regress_r14_read;
INSERT INTO public.regress_r14_matrix SELECT c.ord, 'read', public.regress_r14_try(NULL, c.call) FROM public.regress_r14_calls c;
SET SESSION AUTHORIZATION regress_r14_write;
INSERT INTO public.regress_r14_matrix SELECT c.ord, 'write', public.regress_r14_try(NULL, c.call) FROM public.regress_r14_calls c;
SET SESSION AUTHORIZATION regress_r14_audit;
INSERT INTO public.regress_r14_matrix SELECT c.ord, 'audit', public.regress_r14_try(NULL, c.call) FROM public.regress_r14_calls c;
SET SESSION AUTHORIZATION regress_r14_admin;
INSERT INTO public.regress_r14_matrix SELECT c.ord, 'admin', public.regress_r14_try(NULL, c.call) FROM public.regress_r14_calls c;
RESET SESSION AUTHORIZATION;
SELECT c.name,
       max(m.result) FILTER (WHERE m.privilege = 'read') AS read,
       max(m.result) FILTER (WHERE m.privilege = 'write') AS write,
       max(m.result) FILTER (WHERE m.privilege = 'audit') AS audit,
       max(m.result) FILTER (WHERE m.privilege = 'admin') AS admin
  FROM public.regress_r14_calls c JOIN public.regress_r14_matrix m USING (ord)
 GROUP BY c.ord, c.name ORDER BY c.ord;

-- What a refusal says: the household role for secretsd, the privilege for
-- a database role.
SET SESSION AUTHORIZATION regress_gateway_login;
\set VERBOSITY sqlstate
BEGIN;
SELECT secrets.set_context(:H, 'user:r', NULL, 'reader');
SELECT secrets.current_privilege();
SELECT secrets.set_secret('API_KEY', 'x', 'integration');
ROLLBACK;
\set VERBOSITY default
BEGIN;
SELECT secrets.set_context(:H, 'user:r', NULL, 'reader');
SELECT secrets.set_secret('API_KEY', 'x', 'integration');
ROLLBACK;
BEGIN;
SELECT secrets.set_context(:H, 'user:a', NULL, 'auditor');
SELECT secrets.current_privilege();
SELECT secrets.get_secret('API_KEY', 'integration');
ROLLBACK;
BEGIN;
SELECT secrets.set_context(:H, 'user:a', NULL, 'auditor');
SELECT * FROM secrets.read_secret('API_KEY', 'integration');
ROLLBACK;
BEGIN;
SELECT secrets.set_context(:H, 'user:w', NULL, 'writer');
SELECT secrets.purge_secret('GONE', 'integration');
ROLLBACK;
BEGIN;
SELECT secrets.set_context(:H, 'user:w', NULL, 'writer');
SELECT * FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10);
ROLLBACK;
-- An auditor sees metadata, never a value.
BEGIN;
SELECT secrets.set_context(:H, 'user:a', NULL, 'auditor');
SELECT key, scope, node_id, version, has_value FROM secrets.list_secrets() ORDER BY key;
SELECT version, is_current FROM secrets.list_secret_versions('API_KEY', 'integration');
ROLLBACK;

-- The role is validated; the 3-argument form stays an admin's (a node's: write).
SELECT secrets.set_context(:H, 'user:x', NULL, 'member');
SELECT secrets.set_context(:H, 'user:x', NULL, 'Owner');
SELECT secrets.set_context(:H, 'user:x', NULL, NULL);
BEGIN;
SELECT secrets.set_context(:H, 'user:x');
SELECT secrets.current_privilege() AS three_arguments;
SELECT secrets.set_context(:H, 'node:kitchen', 'kitchen');
SELECT secrets.current_privilege() AS three_arguments_node;
SELECT secrets.set_context(:H, 'node:kitchen', 'kitchen', 'writer');
SELECT secrets.current_privilege() AS node_writer;
SELECT secrets.set_context(:H, 'node:kitchen', 'kitchen', 'owner');
SELECT secrets.current_privilege() AS node_never_admin;
ROLLBACK;
-- A failed set_context changes nothing.
BEGIN;
SELECT secrets.set_context(:H, 'user:x', NULL, 'auditor');
SAVEPOINT s;
SELECT secrets.set_context(:H, 'user:x', NULL, 'bogus');
ROLLBACK TO SAVEPOINT s;
SELECT secrets.current_privilege() AS still_auditor, secrets.current_actor();
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- Only secretsd's gateway may set a context, with a role or without.
SET SESSION AUTHORIZATION regress_r14_admin;
SELECT secrets.set_context(:H, 'user:x', NULL, 'owner');
RESET SESSION AUTHORIZATION;

-- Database roles: 'audit' reads the audit trail and metadata, no value; a
-- role holding read and audit through membership holds both.
SET SESSION AUTHORIZATION regress_r14_audit;
SELECT secrets.current_privilege();
SELECT count(*) > 0 AS audit_trail_rows FROM secrets.audit_trail;
SELECT key, version FROM secrets.secrets ORDER BY key;
SELECT key, decrypted_value FROM secrets.decrypted_secrets;
SELECT public.regress_r14_try(NULL, 'SELECT decrypted_value FROM secrets.decrypted_secrets') AS decrypted_view;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_r14_read;
SELECT count(*) AS reader_audit_trail_rows FROM secrets.audit_trail;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_r14_both;
SELECT secrets.use_household(:H, for_session => true);
SELECT secrets.current_privilege();
SELECT secrets.get_secret('API_KEY', 'integration') AS both_value,
       (SELECT count(*) FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000)) > 0 AS both_audit;
SELECT secrets.set_secret('API_KEY', 'x', 'integration');
SELECT secrets.use_household(NULL);
RESET SESSION AUTHORIZATION;
SELECT secrets.grant_household('regress_r14_read', :H, 'owner');

-- ---------------------------------------------------------------- scoped apps
-- An app granted WEATHER_ sees only those keys; a write outside the prefix
-- is SE009 whether or not the key exists.
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context(:H, 'app:weather', NULL, 'writer', 'WEATHER_');
SELECT key FROM secrets.list_secrets(include_deleted => true) ORDER BY key;
SELECT secrets.get_secret('WEATHER_TOKEN', 'integration') AS inside,
       secrets.get_secret('API_KEY', 'integration') AS outside;
SELECT count(*) AS outside_rows FROM secrets.read_secret('API_KEY', 'integration');
SELECT count(*) AS outside_versions FROM secrets.list_secret_versions('API_KEY', 'integration');
SELECT count(*) AS outside_table_rows FROM secrets.secrets WHERE key NOT LIKE 'WEATHER\_%';
SELECT DISTINCT event ->> 'key' AS event_key FROM secrets.change_events(0, 1000) ORDER BY 1;
SELECT (secrets.set_secret('WEATHER_WIND', 'calm', 'integration')).version AS inside_write;
SELECT (secrets.update_secret('WEATHER_CITY', value => 'Bergen')).version AS inside_update;
COMMIT;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:H, 'user:r', NULL, 'reader') AS ctx)
SELECT secrets.get_secret('WEATHER_WIND', 'integration') AS committed FROM c;
\set VERBOSITY sqlstate
SELECT c.name, public.regress_r14_try('writer', c.call, 'WEATHER_') AS app_weather
  FROM (VALUES
    (1, 'set existing',     $q$SELECT secrets.set_secret('API_KEY', 'x', 'integration')$q$),
    (2, 'set missing',      $q$SELECT secrets.set_secret('NOPE', 'x', 'integration')$q$),
    (3, 'create',           $q$SELECT secrets.create_secret('NOPE', 'x')$q$),
    (4, 'update existing',  $q$SELECT secrets.update_secret('API_KEY', value => 'x')$q$),
    (5, 'update missing',   $q$SELECT secrets.update_secret('NOPE', value => 'x')$q$),
    (6, 'delete existing',  $q$SELECT secrets.delete_secret('API_KEY', 'integration')$q$),
    (7, 'delete missing',   $q$SELECT secrets.delete_secret('NOPE', 'integration')$q$),
    (8, 'restore existing', $q$SELECT secrets.restore_secret('GONE', 'integration')$q$),
    (9, 'restore missing',  $q$SELECT secrets.restore_secret('NOPE', 'integration')$q$),
    (10, 'rollback',        $q$SELECT secrets.rollback_secret('API_KEY', 'integration', 1)$q$),
    (11, 'ensure',          $q$SELECT secrets.ensure_secret_exists('NOPE', 'integration')$q$),
    (12, 'seed mixed',      $q$SELECT secrets.seed_secrets('[{"key": "WEATHER_OK"}, {"key": "NOPE"}]')$q$),
    (13, 'seed inside',     $q$SELECT secrets.seed_secrets('[{"key": "WEATHER_OK"}]')$q$),
    (14, 'update inside missing', $q$SELECT secrets.update_secret('WEATHER_NOPE', value => 'x')$q$)
  ) AS c(ord, name, call) ORDER BY c.ord;
-- purge needs admin: an owner's context with a prefix is scoped alike
SELECT public.regress_r14_try('owner', $q$SELECT secrets.purge_secret('GONE', 'integration')$q$, 'WEATHER_') AS purge_outside,
       public.regress_r14_try('owner', $q$SELECT secrets.purge_secret('WEATHER_GONE', 'integration')$q$, 'WEATHER_') AS purge_inside;
\set VERBOSITY default
BEGIN;
SELECT secrets.set_context(:H, 'app:weather', NULL, 'writer', 'WEATHER_');
SELECT secrets.delete_secret('NOPE', 'integration');
ROLLBACK;
-- A reader app reads inside its prefix only.
BEGIN;
SELECT secrets.set_context(:H, 'app:weather', NULL, 'reader', 'WEATHER_');
SELECT secrets.get_secret('WEATHER_CITY', 'integration') AS inside,
       secrets.get_secret('API_KEY', 'integration') AS outside;
ROLLBACK;
-- The prefix is validated like the start of a key.
SELECT secrets.set_context(:H, 'app:x', NULL, 'reader', '');
SELECT secrets.set_context(:H, 'app:x', NULL, 'reader', 'weather_');
SELECT secrets.set_context(:H, 'app:x', NULL, 'reader', 'WEATHER-');
SELECT secrets.set_context(:H, 'app:x', NULL, 'reader', repeat('W', 256));
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------- audit_entries
-- A household written by two people, then read page by page and filtered.
\set A '''14141414-0000-0000-0000-0000000000a0'''
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context(:A, 'user:1', NULL, 'writer');
SELECT (secrets.set_secret('A_KEY', 'a1', 'integration')).version;
SELECT secrets.set_context(:A, 'user:2', NULL, 'admin');
SELECT (secrets.set_secret('A_KEY', 'a2', 'integration')).version;
SELECT secrets.set_context(:A, 'user:1', NULL, 'writer');
SELECT (secrets.set_secret('B_KEY', 'b1', 'integration')).version;
SELECT secrets.set_context(:A, 'user:2', NULL, 'owner');
SELECT secrets.delete_secret('B_KEY', 'integration');
SELECT (secrets.set_secret('WEATHER_A', 'w', 'integration')).version;
SELECT secrets.configure_household(max_versions => 7) IS NOT NULL AS configured;
COMMIT;
BEGIN;
SELECT secrets.set_context(:A, 'user:9', NULL, 'auditor');
SELECT seq, actor, action, scope, node_id, key, version, detail
  FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000);
-- pages of two: before_seq is the last seq of the previous page
SELECT seq, action, key FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 2);
SELECT seq, action, key FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, 5, 2);
SELECT seq, action, key FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, 3, 2);
SELECT seq, action, key FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, 1, 2);
-- filters, alone and together
SELECT seq FROM secrets.audit_entries('user:2', NULL, NULL, NULL, NULL, NULL, 100);
SELECT seq FROM secrets.audit_entries(NULL, 'A_KEY', NULL, NULL, NULL, NULL, 100);
SELECT seq FROM secrets.audit_entries(NULL, NULL, 'delete', NULL, NULL, NULL, 100);
SELECT seq FROM secrets.audit_entries('user:1', 'A_KEY', 'create', NULL, NULL, NULL, 100);
SELECT count(*) AS nobody FROM secrets.audit_entries('user:404', NULL, NULL, NULL, NULL, NULL, 100);
-- time range: since <= at < until
SELECT seq FROM secrets.audit_entries(NULL, NULL, NULL,
         (SELECT e.at FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000) e WHERE e.seq = 2),
         (SELECT e.at FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000) e WHERE e.seq = 4),
         NULL, 100);
SELECT count(*) AS future FROM secrets.audit_entries(NULL, NULL, NULL, now() + interval '1 day', NULL, NULL, 100);
SELECT count(*) AS past FROM secrets.audit_entries(NULL, NULL, NULL, NULL, '-infinity', NULL, 100);
-- the chain verifies for an auditor
SELECT count(*) AS chain_problems FROM secrets.verify_audit_chain();
ROLLBACK;
-- max_rows is 1..1000
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:9', NULL, 'auditor') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 0) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:9', NULL, 'auditor') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1001) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:9', NULL, 'auditor') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, NULL) e;
-- readers and writers may not read the audit trail, even of an empty household
\set VERBOSITY sqlstate
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:1', NULL, 'reader') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:1', NULL, 'writer') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context('14141414-0000-0000-0000-0000000000e0', 'user:1', NULL, 'reader') AS ctx)
SELECT e.seq FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:1', NULL, 'reader') AS ctx)
SELECT v.reason FROM c, LATERAL secrets.verify_audit_chain() v;
\set VERBOSITY default
-- another household's auditor sees none of A; a scoped context only its keys
WITH c AS MATERIALIZED (SELECT secrets.set_context(:H, 'user:9', NULL, 'auditor') AS ctx)
SELECT count(*) AS a_entries_seen_from_h FROM c, LATERAL secrets.audit_entries(NULL, 'A_KEY', NULL, NULL, NULL, NULL, 1000) e;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:A, 'user:9', NULL, 'auditor', 'WEATHER_') AS ctx)
SELECT e.seq, e.key FROM c, LATERAL secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 1000) e;
-- no context: no household
SELECT count(*) FROM secrets.audit_entries(NULL, NULL, NULL, NULL, NULL, NULL, 10);
RESET SESSION AUTHORIZATION;

-- Every chain written here still verifies.
SELECT (SELECT count(*) FROM secrets.verify_audit_chain(:H)) + (SELECT count(*) FROM secrets.verify_audit_chain(:A))
       + (SELECT count(*) FROM secrets.verify_audit_chain(:OTHER)) AS chain_problems;

DROP FUNCTION public.regress_r14_try(text, text, text);
DROP TABLE public.regress_r14_calls, public.regress_r14_matrix;
