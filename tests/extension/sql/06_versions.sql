-- Versions, optimistic concurrency, soft delete, restore and purge.
\set SHOW_CONTEXT never
SET SESSION AUTHORIZATION regress_alice;

-- Every change keeps the previous version, up to max_versions (default 10,
-- counting the current one).
SELECT (secrets.current_household_settings()).max_versions AS default_max_versions;
SELECT version FROM secrets.set_secret('ROTATED_TOKEN', 'v1', 'integration');
DO $$
BEGIN
  FOR i IN 2 .. 13 LOOP
    PERFORM secrets.update_secret('ROTATED_TOKEN', value => 'v' || i);
  END LOOP;
END $$;
SELECT version, is_current, has_value, key_version, written_by
  FROM secrets.list_secret_versions('ROTATED_TOKEN', 'integration');
SELECT secrets.get_secret('ROTATED_TOKEN', 'integration') AS current_value,
       secrets.get_secret('ROTATED_TOKEN', 'integration', version => 13) AS v13,
       secrets.get_secret('ROTATED_TOKEN', 'integration', version => 4) AS v4,
       secrets.get_secret('ROTATED_TOKEN', 'integration', version => 3) IS NULL AS v3_dropped,
       secrets.get_secret('ROTATED_TOKEN', 'integration', version => 99) IS NULL AS v99_missing;

-- Rollback: a new version whose value is the old one's (ciphertext copied).
SELECT version, has_value FROM secrets.rollback_secret('ROTATED_TOKEN', 'integration', 5);
SELECT secrets.get_secret('ROTATED_TOKEN', 'integration') AS rolled_back_to_v5;
SELECT count(*) AS versions_kept, min(version), max(version)
  FROM secrets.list_secret_versions('ROTATED_TOKEN', 'integration');
\set VERBOSITY sqlstate
SELECT secrets.rollback_secret('ROTATED_TOKEN', 'integration', 3);
SELECT secrets.rollback_secret('NO_SUCH_SECRET', 'integration', 1);
\set VERBOSITY default
SELECT secrets.rollback_secret('ROTATED_TOKEN', 'integration', 3);
-- History rows hold ciphertext bound to the same secret: never the value.
SELECT count(*) FILTER (WHERE position('v7'::bytea IN value) > 0) AS plaintext_rows,
       count(*) FILTER (WHERE key = 'ROTATED_TOKEN') AS history_rows
  FROM secrets.secret_versions;

-- A smaller max_versions drops the extra versions at once.
SET SESSION AUTHORIZATION regress_multi;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT secrets.configure_household(max_versions => 3);  -- write, not admin
RESET SESSION AUTHORIZATION;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT max_versions, audit_reads, delete_retention FROM secrets.configure_household(max_versions => 3);
SELECT secrets.configure_household(max_versions => 0);
SELECT secrets.use_household(NULL);
SET SESSION AUTHORIZATION regress_alice;
SELECT array_agg(version ORDER BY version) AS kept
  FROM secrets.list_secret_versions('ROTATED_TOKEN', 'integration');
SELECT version FROM secrets.update_secret('ROTATED_TOKEN', value => 'v15');
SELECT array_agg(version ORDER BY version) AS kept
  FROM secrets.list_secret_versions('ROTATED_TOKEN', 'integration');

-- Optimistic concurrency: expected_version is the version the caller read.
SELECT version FROM secrets.update_secret('ROTATED_TOKEN', value => 'v16', expected_version => 15);
\set VERBOSITY sqlstate
SELECT secrets.update_secret('ROTATED_TOKEN', value => 'stale-canary', expected_version => 15);
SELECT secrets.set_secret('ROTATED_TOKEN', 'stale-canary', 'integration', expected_version => 3);
SELECT secrets.delete_secret('ROTATED_TOKEN', 'integration', expected_version => 1);
SELECT secrets.rollback_secret('ROTATED_TOKEN', 'integration', 15, expected_version => 2);
\set VERBOSITY default
SELECT secrets.update_secret('ROTATED_TOKEN', value => 'stale-canary', expected_version => 15);
SELECT secrets.get_secret('ROTATED_TOKEN', 'integration') AS unchanged_by_stale_writes;
-- expected_version => 0: "must not exist yet".
SELECT version FROM secrets.set_secret('BRAND_NEW', 'x', 'integration', expected_version => 0);
SELECT secrets.set_secret('BRAND_NEW', 'y', 'integration', expected_version => 0);
SELECT version FROM secrets.set_secret('BRAND_NEW', 'y', 'integration', expected_version => 1);

-- Soft delete: get, list and the view skip the tombstone.
SELECT secrets.delete_secret('BRAND_NEW', 'integration', expected_version => 2) AS deleted;
SELECT secrets.get_secret('BRAND_NEW', 'integration') IS NULL AS get_is_null,
       (SELECT count(*) FROM secrets.list_secrets() WHERE key = 'BRAND_NEW') AS listed,
       (SELECT count(*) FROM secrets.decrypted_secrets WHERE key = 'BRAND_NEW') AS in_view,
       (SELECT count(*) FROM secrets.secrets WHERE key = 'BRAND_NEW') AS in_table;
SELECT key, version, deleted_at IS NOT NULL AS deleted, deleted_by
  FROM secrets.list_secrets(include_deleted => true) WHERE key = 'BRAND_NEW';
SELECT secrets.update_secret('BRAND_NEW', value => 'z');
SELECT secrets.delete_secret('BRAND_NEW', 'integration') AS deleted_again;
-- Restore brings it back as it was.
SELECT key, version, deleted_at FROM secrets.restore_secret('BRAND_NEW', 'integration');
SELECT secrets.get_secret('BRAND_NEW', 'integration') AS restored_value;
SELECT secrets.restore_secret('BRAND_NEW', 'integration');
-- Re-creating a deleted secret works, with every API, and starts a new life:
-- the deleted value and its history do not come back (version => 2 is NULL).
SELECT secrets.delete_secret('BRAND_NEW', 'integration');
SELECT key, version FROM secrets.create_secret('BRAND_NEW', 'recreated');
SELECT secrets.get_secret('BRAND_NEW', 'integration') AS recreated,
       secrets.get_secret('BRAND_NEW', 'integration', version => 2) AS before_delete;
SELECT secrets.delete_secret('BRAND_NEW', 'integration');
SELECT version FROM secrets.set_secret('BRAND_NEW', 'set-again', 'integration');
SELECT secrets.delete_secret('BRAND_NEW', 'integration');
SELECT secrets.ensure_secret_exists('BRAND_NEW', 'integration') AS ensured;
SELECT secrets.get_secret('BRAND_NEW', 'integration') = '' AS ensured_empty;

-- Purge: admins only, deleted secrets only, history goes with it.
SELECT secrets.purge_secret('BRAND_NEW', 'integration');
RESET SESSION AUTHORIZATION;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT secrets.purge_secret('BRAND_NEW', 'integration');
SELECT secrets.delete_secret('BRAND_NEW', 'integration');
SELECT secrets.purge_secret('BRAND_NEW', 'integration') AS purged;
SELECT secrets.purge_secret('BRAND_NEW', 'integration') AS purged_again;
SELECT count(*) AS rows_left FROM secrets.secrets WHERE key = 'BRAND_NEW';
SELECT count(*) AS history_left FROM secrets.secret_versions WHERE key = 'BRAND_NEW';
SELECT secrets.restore_secret('BRAND_NEW', 'integration');

-- Restore only within delete_retention; purge_expired_secrets() removes the rest.
SELECT (secrets.set_secret('SHORT_LIVED', 'x', 'integration')).version;
SELECT secrets.delete_secret('SHORT_LIVED', 'integration');
UPDATE secrets.secrets SET deleted_at = now() - interval '31 days' WHERE key = 'SHORT_LIVED';
\set VERBOSITY sqlstate
SELECT secrets.restore_secret('SHORT_LIVED', 'integration');
\set VERBOSITY default
SELECT secrets.restore_secret('SHORT_LIVED', 'integration');
SELECT secrets.purge_expired_secrets() AS expired_purged;
SELECT count(*) AS short_lived_rows FROM secrets.secrets WHERE key = 'SHORT_LIVED';
SELECT max_versions FROM secrets.configure_household(max_versions => 10);
SELECT secrets.use_household(NULL);
