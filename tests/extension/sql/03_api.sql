-- The high-level API, as a backend service's role granted one household.
\set SHOW_CONTEXT never
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.current_household(), secrets.current_privilege(), secrets.current_actor();

-- set / get round trip, both scopes.
SELECT key, scope, node_id, value_type, has_value, version, key_version, created_by
  FROM secrets.set_secret('OPENWEATHER_API_KEY', 'ow-123-canary', 'integration');
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');
SELECT (secrets.set_secret('DEFAULT_LOCATION', 'Denver', 'node', node_id => 'kitchen')).key;
SELECT (secrets.set_secret('DEFAULT_LOCATION', 'NYC', 'node', node_id => 'office')).key;
SELECT secrets.get_secret('DEFAULT_LOCATION', 'node', 'kitchen'),
       secrets.get_secret('DEFAULT_LOCATION', 'node', 'office');

-- The same key may exist in both scopes with different values.
SELECT (secrets.set_secret('DEFAULT_LOCATION', 'Household', 'integration')).scope;
SELECT secrets.get_secret('DEFAULT_LOCATION', 'integration');

-- Missing: NULL, not an error.
SELECT secrets.get_secret('NOPE', 'integration') IS NULL AS missing_is_null;
SELECT secrets.get_secret('DEFAULT_LOCATION', 'node', 'garage') IS NULL AS missing_node_is_null;

-- Upsert keeps the description when none is given, bumps the version.
SELECT description, version FROM secrets.set_secret('OPENWEATHER_API_KEY', 'ow-456', 'integration',
                                                     description => 'Weather API key');
SELECT description, version FROM secrets.set_secret('OPENWEATHER_API_KEY', 'ow-789', 'integration');
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');

-- Typed values and getters.
SELECT (secrets.set_secret('CUSTOM_PORT', '8080', 'integration', 'int')).value_type;
SELECT (secrets.set_secret('NEGATIVE', '-42', 'integration', 'int')).value_type;
SELECT (secrets.set_secret('FEATURE_ENABLED', 'TRUE', 'integration', 'bool')).value_type;
SELECT (secrets.set_secret('FEATURE_OFF', 'false', 'integration', 'bool')).value_type;
SELECT secrets.get_secret_int('CUSTOM_PORT', 'integration') AS port,
       secrets.get_secret_int('NEGATIVE', 'integration') AS negative,
       secrets.get_secret_bool('FEATURE_ENABLED', 'integration') AS enabled,
       secrets.get_secret('FEATURE_ENABLED', 'integration') AS stored_as,
       secrets.get_secret_bool('FEATURE_OFF', 'integration') AS off;
-- Not parseable or missing: NULL.
SELECT secrets.get_secret_int('OPENWEATHER_API_KEY', 'integration') IS NULL AS not_int,
       secrets.get_secret_bool('OPENWEATHER_API_KEY', 'integration') IS NULL AS not_bool,
       secrets.get_secret_int('NOPE', 'integration') IS NULL AS missing_int,
       secrets.get_secret_bool('NOPE', 'integration') IS NULL AS missing_bool;

-- Every validation error, none echoing the value.
SELECT secrets.set_secret('lower_case', 'v', 'integration');
SELECT secrets.set_secret('1LEADING_DIGIT', 'v', 'integration');
SELECT secrets.set_secret('HAS-DASH', 'v', 'integration');
SELECT secrets.set_secret('', 'v', 'integration');
SELECT secrets.set_secret('KEY''; DROP TABLE secrets.secrets; --', 'v', 'integration');
SELECT secrets.set_secret('ÜNICODE', 'v', 'integration');
SELECT secrets.set_secret('A' || repeat('B', 255), 'v', 'integration');
SELECT length((secrets.set_secret('A' || repeat('B', 254), 'v', 'integration')).key) AS max_length_ok;
SELECT secrets.set_secret('GOOD_KEY', 'v', 'global');
SELECT secrets.set_secret('GOOD_KEY', 'v', 'node');
SELECT secrets.set_secret('GOOD_KEY', 'v', 'node', node_id => '');
SELECT secrets.set_secret('GOOD_KEY', 'v', 'integration', node_id => 'kitchen');
SELECT secrets.set_secret('GOOD_KEY', 'v', 'integration', 'float');
SELECT secrets.set_secret('GOOD_KEY', 'not-a-number-canary', 'integration', 'int');
SELECT secrets.set_secret('GOOD_KEY', '99999999999', 'integration', 'int');
SELECT secrets.set_secret('GOOD_KEY', '12.5', 'integration', 'int');
SELECT secrets.set_secret('GOOD_KEY', 'yes-canary', 'integration', 'bool');
SELECT secrets.set_secret('GOOD_KEY', NULL, 'integration');
SELECT count(*) AS good_key_rows FROM secrets.list_secrets() WHERE key = 'GOOD_KEY';

-- create_secret refuses duplicates; update_secret needs an existing row.
SELECT key, description FROM secrets.create_secret('GITHUB_TOKEN', 'ghp_canary', description => 'GitHub PAT');
SELECT secrets.create_secret('GITHUB_TOKEN', 'other');
SELECT description, version FROM secrets.update_secret('GITHUB_TOKEN', description => 'Updated');
SELECT secrets.get_secret('GITHUB_TOKEN', 'integration') AS value_kept;
SELECT version FROM secrets.update_secret('GITHUB_TOKEN', value => 'ghp_new');
SELECT secrets.get_secret('GITHUB_TOKEN', 'integration') AS value_changed;
SELECT secrets.update_secret('UNKNOWN_KEY', value => 'x');
SELECT secrets.update_secret('CUSTOM_PORT', value => 'eighty');

-- ensure_secret_exists: creates an empty row once, never overwrites.
SELECT secrets.ensure_secret_exists('NEW_EMPTY', 'integration', 'string') AS created_first;
SELECT secrets.ensure_secret_exists('NEW_EMPTY', 'integration', 'string') AS created_again;
SELECT secrets.get_secret('NEW_EMPTY', 'integration') = '' AS empty_value;
SELECT secrets.ensure_secret_exists('OPENWEATHER_API_KEY', 'integration', 'string') AS overwrote;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS still;
SELECT secrets.ensure_secret_exists('NODE_ONLY', 'node', 'int', 'kitchen') AS created_node;
SELECT secrets.get_secret_int('NODE_ONLY', 'node', 'kitchen') IS NULL AS empty_int_is_null;

-- seed_secrets: the command declarations of node-secret-service.md.
SELECT secrets.seed_secrets('{"command": "get_stock_price", "required_secrets": [
  {"key": "FINANCE_API_KEY", "description": "Financial data API key", "scope": "integration",
   "value_type": "string", "friendly_name": "API Key"},
  {"key": "DEFAULT_CURRENCY", "description": "Default display currency", "scope": "integration",
   "value_type": "string", "required": false, "is_sensitive": false, "friendly_name": "Currency"}]}') AS created;
-- Idempotent, and a list of commands works too.
SELECT secrets.seed_secrets('[{"command": "get_stock_price", "required_secrets": [
  {"key": "FINANCE_API_KEY", "scope": "integration", "value_type": "string"},
  {"key": "DEFAULT_CURRENCY", "scope": "integration", "value_type": "string"}]},
  {"command": "get_weather", "all_possible_secrets": [
  {"key": "OPENWEATHER_API_KEY", "scope": "integration", "value_type": "string"},
  {"key": "WEATHER_UNITS", "scope": "integration", "value_type": "string"}],
   "required_secrets": [{"key": "IGNORED_WHEN_ALL_POSSIBLE_GIVEN"}]}]') AS created_again;
SELECT key, friendly_name, is_required, is_sensitive, has_value
  FROM secrets.list_secrets() WHERE key IN ('FINANCE_API_KEY', 'DEFAULT_CURRENCY', 'WEATHER_UNITS') ORDER BY key;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration') AS never_overwritten;
-- A bad manifest changes nothing.
SELECT secrets.seed_secrets('[{"key": "SEEDED_BEFORE_ERROR"}, {"key": "bad key"}]');
SELECT secrets.seed_secrets('[{"key": 42}]');
SELECT secrets.seed_secrets('[{"key": "X_FLAG", "required": "yes"}]');
SELECT secrets.seed_secrets('"just a string"');
SELECT secrets.seed_secrets('[1, 2]');
SELECT count(*) AS partial_seed_rows FROM secrets.list_secrets() WHERE key = 'SEEDED_BEFORE_ERROR';

-- list_secrets: metadata only, never a value; filtered by scope.
SELECT left(key, 24) AS key, scope, node_id, value_type, has_value FROM secrets.list_secrets() ORDER BY 1, 2, 3;
SELECT count(*) AS node_rows FROM secrets.list_secrets('node');
SELECT secrets.list_secrets('everything');
SELECT count(*) AS columns_named_value
  FROM pg_attribute WHERE attrelid = 'secrets.secret_metadata'::regclass AND attname LIKE '%value' AND attname <> 'has_value';

-- decrypted_secrets: values for the household's roles.
SELECT key, scope, node_id, decrypted_value FROM secrets.decrypted_secrets
 WHERE key IN ('DEFAULT_LOCATION', 'GITHUB_TOKEN') ORDER BY key, scope, node_id;

-- delete
SELECT secrets.delete_secret('GITHUB_TOKEN', 'integration') AS deleted;
SELECT secrets.delete_secret('GITHUB_TOKEN', 'integration') AS deleted_again;
SELECT secrets.delete_secret('DEFAULT_LOCATION', 'node', 'office') AS deleted_node;
SELECT secrets.get_secret('DEFAULT_LOCATION', 'node', 'kitchen') AS other_node_kept;

-- The stored bytes are ciphertext under the active key, never the value.
SELECT count(*) FILTER (WHERE position('Denver'::bytea IN value) > 0) AS plaintext_rows,
       count(*) FILTER (WHERE secrets.ciphertext_key_version(value) = 2) AS v2_rows,
       count(*) AS all_rows
  FROM secrets.secrets;

-- Direct writes are not allowed: only the API writes (and encrypts).
INSERT INTO secrets.secrets (household_id, scope, key, value, created_by, updated_by)
VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'integration', 'DIRECT', 'plain', 'x', 'x');
UPDATE secrets.secrets SET description = 'x';
DELETE FROM secrets.secrets;
RESET SESSION AUTHORIZATION;

-- A ciphertext copied into another row does not decrypt there.
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
UPDATE secrets.secrets SET value = (SELECT value FROM secrets.secrets WHERE key = 'CUSTOM_PORT')
 WHERE key = 'NEGATIVE';
SELECT secrets.get_secret('NEGATIVE', 'integration');
-- ... nor does one copied from the node scope to the integration scope.
UPDATE secrets.secrets SET value = (SELECT value FROM secrets.secrets WHERE key = 'DEFAULT_LOCATION' AND node_id = 'kitchen')
 WHERE key = 'DEFAULT_LOCATION' AND scope = 'integration';
SELECT secrets.get_secret('DEFAULT_LOCATION', 'integration');
