-- What a connection pooler can carry from one client to the next, and grants
-- that follow the role rather than its name (extension 0.2.0).
\set SHOW_CONTEXT never
SET SESSION AUTHORIZATION regress_multi;   -- granted A (write) and B (admin)

-- 1. use_household() lasts for the transaction by default: the next
--    transaction (the next pooled client) has no household.
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001');
SELECT secrets.current_household() AS after_own_transaction;
BEGIN;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001');
SELECT secrets.current_household() AS inside_transaction;
COMMIT;
SELECT secrets.current_household() AS after_commit;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');   -- SE003, never A's value

-- 2. One statement can pick and use (what secretsd-like callers do).
SELECT s IS NOT NULL AS read_in_one_statement
  FROM secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001') u,
       LATERAL secrets.get_secret('OPENWEATHER_API_KEY', 'integration') s;

-- 3. A session choice must be asked for, and DISCARD ALL / RESET ALL (a
--    pooler's reset query) clear it.
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
SELECT secrets.current_household() AS session_choice;
DISCARD ALL;
SELECT secrets.current_household() AS after_discard_all;
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
RESET ALL;
SELECT secrets.current_household() AS after_reset_all;

-- 4. A transaction choice overrides the session choice and ends with it.
SELECT secrets.use_household('bbbbbbbb-0000-0000-0000-000000000002', for_session => true);
BEGIN;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001');
SELECT secrets.current_household() AS transaction_over_session;
COMMIT;
SELECT secrets.current_household() AS session_again;

-- 5. A session choice made in a transaction that rolls back is taken back,
--    and one made in a rolled-back savepoint too.
BEGIN;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
ROLLBACK;
SELECT secrets.current_household() AS after_rollback;
BEGIN;
SAVEPOINT s1;
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001');
ROLLBACK TO SAVEPOINT s1;
SELECT secrets.current_household() AS after_savepoint_rollback;
COMMIT;
SELECT secrets.use_household(NULL);
SELECT secrets.current_household() AS cleared;
RESET SESSION AUTHORIZATION;

-- 6. Grants follow the role's OID. A renamed role keeps its grants; a new
--    role with the old name gets none.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_renamed') THEN
    PERFORM secrets.revoke_household('regress_renamed', 'aaaaaaaa-0000-0000-0000-000000000001');
    DROP ROLE regress_renamed;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_carol') THEN
    PERFORM secrets.revoke_household('regress_carol', 'aaaaaaaa-0000-0000-0000-000000000001');
    DROP ROLE regress_carol;
  END IF;
END $$;
CREATE ROLE regress_carol LOGIN;
SELECT secrets.grant_household('regress_carol', 'aaaaaaaa-0000-0000-0000-000000000001', 'read');
ALTER ROLE regress_carol RENAME TO regress_renamed;
CREATE ROLE regress_carol LOGIN IN ROLE pgsecrets_user;
SET SESSION AUTHORIZATION regress_carol;
SELECT secrets.current_household() AS new_role_with_old_name;
SELECT secrets.get_secret('OPENWEATHER_API_KEY', 'integration');   -- SE003
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_renamed;
SELECT secrets.current_household() AS renamed_role_keeps_grant;
RESET SESSION AUTHORIZATION;
SELECT role, privilege FROM secrets.household_grants_view
 WHERE role IN ('regress_renamed', 'regress_carol') ORDER BY 1;

-- 7. DROP ROLE of a role that holds households here is refused until they
--    are revoked (its grants would otherwise outlive it).
DROP ROLE regress_renamed;
SELECT secrets.revoke_household('regress_renamed', 'aaaaaaaa-0000-0000-0000-000000000001');
DROP ROLE regress_renamed;
DROP ROLE regress_carol;
SELECT count(*) AS grants_left_for_dropped_roles FROM secrets.household_grants g
 WHERE NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = g.grantee::oid);

-- 8. Key fingerprints: the versions that sealed something are recorded,
--    key_status shows them, and no key material is shown.
SELECT key_version, active, loaded, fingerprint_state,
       fingerprint ~ '^[0-9a-f]{16}$' AS short_hex, fingerprint = recorded_fingerprint AS matches
  FROM secrets.key_status() ORDER BY 1;
SELECT key_version, length(fingerprint) FROM secrets.key_fingerprints ORDER BY 1;
SET ROLE regress_alice;
SELECT * FROM secrets.keyring_state();   -- superusers only
RESET ROLE;
SELECT preloaded, generation = session_generation AS in_step FROM secrets.keyring_state();
