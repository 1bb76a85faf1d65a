-- Installs the extension and the roles the rest of the suite uses.
\set SHOW_CONTEXT never
-- Households: A = aaaaaaaa-..., B = bbbbbbbb-...
CREATE EXTENSION pgsecrets;
SELECT extname, extversion, n.nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pgsecrets';

-- The three roles the extension creates.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls
  FROM pg_roles WHERE rolname LIKE 'pgsecrets\_%' ORDER BY 1;

-- Row-level security is enabled and forced on the secrets table.
SELECT relname, relrowsecurity, relforcerowsecurity
  FROM pg_class WHERE oid = 'secrets.secrets'::regclass;

DO $$
BEGIN
  -- roles persist across runs of the suite on one cluster
  PERFORM 1 FROM pg_roles WHERE rolname = 'regress_alice';
  IF NOT FOUND THEN
    CREATE ROLE regress_alice LOGIN;
    CREATE ROLE regress_bob LOGIN;
    CREATE ROLE regress_reader LOGIN;
    CREATE ROLE regress_multi LOGIN;
    CREATE ROLE regress_outsider LOGIN;
    CREATE ROLE regress_gateway_login LOGIN IN ROLE pgsecrets_gateway;
  END IF;
END $$;

SELECT secrets.grant_household('regress_alice', 'aaaaaaaa-0000-0000-0000-000000000001', 'write');
SELECT secrets.grant_household('regress_bob', 'bbbbbbbb-0000-0000-0000-000000000002', 'write');
SELECT secrets.grant_household('regress_reader', 'aaaaaaaa-0000-0000-0000-000000000001', 'read');
SELECT secrets.grant_household('regress_multi', 'aaaaaaaa-0000-0000-0000-000000000001', 'write');
SELECT secrets.grant_household('regress_multi', 'bbbbbbbb-0000-0000-0000-000000000002', 'admin');

-- Grants are validated.
SELECT secrets.grant_household('regress_alice', 'aaaaaaaa-0000-0000-0000-000000000001', 'owner');
SELECT secrets.grant_household('regress_nobody', 'aaaaaaaa-0000-0000-0000-000000000001', 'read');
SELECT secrets.grant_household('regress_alice', NULL, 'read');

SELECT household_id, grantee, privilege FROM secrets.household_grants ORDER BY 2::text, 1;

-- Only superusers may grant.
SET ROLE regress_alice;
SELECT secrets.grant_household('regress_alice', 'bbbbbbbb-0000-0000-0000-000000000002', 'admin');
RESET ROLE;
