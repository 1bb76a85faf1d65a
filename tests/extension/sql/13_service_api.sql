-- The service API of 0.3.0 (README "Service API"): secrets.read_secret()
-- returns one version's metadata and value from one row, read-audited like
-- get_secret(), under the same row-level security as every function of the
-- API, with the key and scope rules applied first.
\set SHOW_CONTEXT never
\set H '''ffffffff-0000-0000-0000-00000000000f'''

BEGIN;
SELECT secrets.use_household(:H);
SELECT (secrets.configure_household(audit_reads => true)).audit_reads;
SELECT (secrets.set_secret('API_KEY', 'one', 'integration', description => 'the API key')).version;
SELECT (secrets.set_secret('API_KEY', 'two', 'integration')).version;
SELECT (secrets.set_secret('PORT', '8080', 'node', 'int', node_id => 'kitchen')).version;
SELECT (secrets.set_secret('PORT', '9090', 'node', 'int', node_id => 'garage')).version;
SELECT (secrets.set_secret('GONE', 'tomb', 'integration')).version;
SELECT secrets.delete_secret('GONE', 'integration');
COMMIT;

-- As secretsd: the current version, a kept one, and no row for a version
-- not kept, a tombstone or a missing secret.
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context(:H, 'user:7');
SELECT key, scope, node_id, value_type, description, has_value, version, key_version,
       created_by, updated_by, deleted_at, value, updated_at >= created_at AS in_order
  FROM secrets.read_secret('API_KEY', 'integration');
SELECT version, value, updated_by, description,
       updated_at = (SELECT l.written_at FROM secrets.list_secret_versions('API_KEY', 'integration') l
                      WHERE l.version = 1) AS written_at
  FROM secrets.read_secret('API_KEY', 'integration', version => 1);
SELECT count(*) AS not_kept FROM secrets.read_secret('API_KEY', 'integration', version => 9);
SELECT count(*) AS tombstone FROM secrets.read_secret('GONE', 'integration');
SELECT count(*) AS missing FROM secrets.read_secret('NOPE', 'integration');
COMMIT;

-- A node reads integration secrets and its own node's, not a sibling's.
BEGIN;
SELECT secrets.set_context(:H, 'node:kitchen', 'kitchen');
SELECT value FROM secrets.read_secret('PORT', 'node', 'kitchen');
SELECT count(*) AS sibling FROM secrets.read_secret('PORT', 'node', 'garage');
SELECT value FROM secrets.read_secret('API_KEY', 'integration');
COMMIT;

-- Another household reads nothing of H.
BEGIN;
SELECT secrets.set_context('eeeeeeee-0000-0000-0000-00000000000e', 'user:2');
SELECT count(*) AS other_household FROM secrets.read_secret('API_KEY', 'integration');
COMMIT;

-- The name rules, in one statement as secretsd sends it.
WITH c AS MATERIALIZED (SELECT secrets.set_context(:H, 'user:7') AS ctx)
SELECT r.value FROM c, LATERAL secrets.read_secret('bad key', 'integration') r;
WITH c AS MATERIALIZED (SELECT secrets.set_context(:H, 'user:7') AS ctx)
SELECT r.value FROM c, LATERAL secrets.read_secret('API_KEY', 'node') r;

-- Without a context: no household.
SELECT count(*) FROM secrets.read_secret('API_KEY', 'integration');
RESET SESSION AUTHORIZATION;

-- For pgsecrets_user (secretsd's gateway is one), not for other roles.
SELECT has_function_privilege('pgsecrets_user', 'secrets.read_secret(text, text, text, integer)', 'EXECUTE') AS users,
       has_function_privilege('regress_outsider', 'secrets.read_secret(text, text, text, integer)', 'EXECUTE') AS outsider;

-- Each read that returned a row is one audit entry for the version read,
-- and the chain still verifies.
SELECT actor, key, node_id, version FROM secrets.audit_log
 WHERE household_id = :H AND action = 'read' ORDER BY seq;
SELECT count(*) AS chain_problems FROM secrets.verify_audit_chain(:H);
