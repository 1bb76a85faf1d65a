-- Households are kept apart by row-level security, for every kind of role.
\set SHOW_CONTEXT never
SET SESSION AUTHORIZATION regress_bob;
SELECT (secrets.set_secret('BOB_ONLY', 'b-canary', 'integration')).key;
SELECT (secrets.set_secret('OPENWEATHER_API_KEY', 'bob-weather', 'integration')).key;
SELECT count(*) AS bob_sees FROM secrets.secrets;
RESET SESSION AUTHORIZATION;

-- Alice (household A) sees nothing of B: not through the API, the view or the table.
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.get_secret('BOB_ONLY', 'integration') IS NULL AS bob_secret_hidden;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS alice_value;
SELECT count(*) AS b_rows_in_table FROM secrets.secrets WHERE household_id = 'bbbbbbbb-0000-0000-0000-000000000002';
SELECT count(*) AS b_rows_in_view FROM secrets.decrypted_secrets WHERE household_id = 'bbbbbbbb-0000-0000-0000-000000000002';
SELECT count(*) AS b_rows_listed FROM secrets.list_secrets() WHERE key = 'BOB_ONLY';
-- ... cannot switch to B, cannot set a gateway context, cannot write into B.
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
SELECT secrets.set_context('bbbbbbbb-0000-0000-0000-000000000002', 'alice');
SELECT secrets.encrypt_secret('x', 'bbbbbbbb-0000-0000-0000-000000000002', 'ctx');
SELECT secrets.decrypt_secret('\x00'::bytea, 'bbbbbbbb-0000-0000-0000-000000000002', 'ctx');
INSERT INTO secrets.secrets (household_id, scope, key, value, created_by, updated_by)
VALUES ('bbbbbbbb-0000-0000-0000-000000000002', 'integration', 'INJECTED',
        secrets.encrypt_secret('x', 'aaaaaaaa-0000-0000-0000-000000000001', 'x'), 'x', 'x');
-- Setting look-alike variables changes nothing: there is no variable to forge.
SELECT set_config('pgsecrets.household', 'bbbbbbbb-0000-0000-0000-000000000002', false);
SELECT secrets.current_household();
RESET SESSION AUTHORIZATION;

-- A read-only role reads A but cannot write.
SET SESSION AUTHORIZATION regress_reader;
SELECT secrets.current_privilege();
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS reader_value;
SELECT secrets.set_secret('READER_WRITE', 'x', 'integration');
SELECT secrets.delete_secret('OPENWEATHER_API_KEY', 'integration');
SELECT secrets.ensure_secret_exists('READER_WRITE', 'integration', 'string');
SELECT secrets.encrypt_secret('x', 'aaaaaaaa-0000-0000-0000-000000000001', 'ctx');
RESET SESSION AUTHORIZATION;

-- A role granted two households must pick one, and only among its own.
SET SESSION AUTHORIZATION regress_multi;
SELECT secrets.current_household() IS NULL AS none_until_chosen;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');
SELECT count(*) AS rows_before_choosing FROM secrets.secrets;
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
SELECT secrets.current_privilege(), secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS b_value;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT secrets.current_privilege(), secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS a_value;
SELECT secrets.use_household('cccccccc-0000-0000-0000-000000000003', for_session => true);
RESET SESSION AUTHORIZATION;

-- A role with no grant sees and does nothing.
SET SESSION AUTHORIZATION regress_outsider;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');
SELECT count(*) FROM secrets.secrets;
RESET SESSION AUTHORIZATION;

-- The gateway: set_context picks the household for one transaction only.
SET SESSION AUTHORIZATION regress_gateway_login;
SELECT secrets.current_household() IS NULL AS no_context_yet;
BEGIN;
SELECT secrets.set_context('bbbbbbbb-0000-0000-0000-000000000002', 'user:42');
SELECT secrets.get_secret('BOB_ONLY', 'integration') AS gateway_reads_b;
SELECT created_by, updated_by FROM secrets.set_secret('FROM_GATEWAY', 'g', 'integration');
COMMIT;
SELECT secrets.current_household() IS NULL AS context_gone_after_commit;
SELECT secrets.get_secret('BOB_ONLY', 'integration');
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'user:7');
SELECT secrets.get_secret('BOB_ONLY', 'integration') IS NULL AS b_hidden_in_a_context;
ROLLBACK;
-- A node context sees integration rows and its own node rows only.
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'node:kitchen', 'kitchen');
SELECT secrets.get_secret('DEFAULT_LOCATION', 'node', 'kitchen') AS own_node;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS integration;
SELECT (secrets.set_secret('KITCHEN_TIMER', '5', 'node', 'int', 'kitchen')).key AS wrote_own;
SELECT (secrets.set_secret('OTHER_NODE', 'x', 'node', node_id => 'office')).key;
ROLLBACK;
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', 'node:office', 'office');
SELECT secrets.get_secret('DEFAULT_LOCATION', 'node', 'kitchen') IS NULL AS other_node_hidden;
SELECT count(*) AS visible_node_rows FROM secrets.list_secrets('node');
ROLLBACK;
-- Bad context arguments.
BEGIN;
SELECT secrets.set_context(NULL, 'x');
ROLLBACK;
BEGIN;
SELECT secrets.set_context('aaaaaaaa-0000-0000-0000-000000000001', repeat('x', 300));
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- created_by / updated_by come from the gateway actor, else the role.
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
SELECT key, created_by, updated_by FROM secrets.list_secrets() WHERE key IN ('FROM_GATEWAY', 'BOB_ONLY') ORDER BY key;

-- A ciphertext copied into another household does not decrypt there.
UPDATE secrets.secrets SET value = (SELECT value FROM secrets.secrets
                                     WHERE household_id = 'aaaaaaaa-0000-0000-0000-000000000001'
                                       AND key = 'OPENWEATHER_API_KEY')
 WHERE household_id = 'bbbbbbbb-0000-0000-0000-000000000002' AND key = 'OPENWEATHER_API_KEY';
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');
