-- pgsecrets 0.1.0: encrypted, household-scoped secrets.
\echo Use "CREATE EXTENSION pgsecrets" to load this file. \quit

-- ---------------------------------------------------------------- roles
-- pgsecrets_owner  owns the tables and the SECURITY DEFINER API; it is not a
--                  superuser and the tables FORCE row-level security, so the
--                  API runs under the same policies as everyone else.
-- pgsecrets_user   may call the API; every role granted a household joins it.
-- pgsecrets_gateway the role secretsd logs in through: may set_context().
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgsecrets_owner') THEN
    CREATE ROLE pgsecrets_owner NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgsecrets_user') THEN
    CREATE ROLE pgsecrets_user NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgsecrets_gateway') THEN
    CREATE ROLE pgsecrets_gateway NOLOGIN;
  END IF;
END
$roles$;
GRANT pgsecrets_user TO pgsecrets_gateway;
GRANT pgsecrets_user TO pgsecrets_owner;
GRANT USAGE ON SCHEMA secrets TO pgsecrets_user, pgsecrets_owner;

-- ---------------------------------------------------------------- C primitives
CREATE FUNCTION secrets.encrypt_secret(plaintext text, household_id uuid, context text)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgsecrets_encrypt_secret'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION secrets.decrypt_secret(ciphertext bytea, household_id uuid, context text)
RETURNS text AS 'MODULE_PATHNAME', 'pgsecrets_decrypt_secret'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION secrets.ciphertext_key_version(ciphertext bytea)
RETURNS bigint AS 'MODULE_PATHNAME', 'pgsecrets_ciphertext_key_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION secrets.set_context(household_id uuid, actor text, node_id text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'pgsecrets_set_context'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION secrets.use_household(household_id uuid)
RETURNS void AS 'MODULE_PATHNAME', 'pgsecrets_use_household'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION secrets.current_household()
RETURNS uuid AS 'MODULE_PATHNAME', 'pgsecrets_current_household'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION secrets.current_actor()
RETURNS text AS 'MODULE_PATHNAME', 'pgsecrets_current_actor'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION secrets.current_node()
RETURNS text AS 'MODULE_PATHNAME', 'pgsecrets_current_node'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION secrets.current_privilege()
RETURNS text AS 'MODULE_PATHNAME', 'pgsecrets_current_privilege'
LANGUAGE C STABLE PARALLEL RESTRICTED;

-- min_privilege: 1 read, 2 write, 3 admin
CREATE FUNCTION secrets.row_visible(household_id uuid, scope text, node_id text, min_privilege int)
RETURNS boolean AS 'MODULE_PATHNAME', 'pgsecrets_row_visible'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION secrets.loaded_key_versions(OUT key_version bigint, OUT active boolean)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'pgsecrets_loaded_key_versions'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- The associated-data context of a stored value: binds it to its row.
-- scope and key contain no ':', so the string parses back uniquely.
CREATE FUNCTION secrets.secret_context(scope text, node_id text, key text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'secret:' || scope || ':' || coalesce(node_id, '') || ':' || key;

-- ---------------------------------------------------------------- tables
CREATE TABLE secrets.household_grants (
  household_id uuid NOT NULL,
  role_name    name NOT NULL,
  privilege    text NOT NULL CHECK (privilege IN ('read', 'write', 'admin')),
  granted_at   timestamptz NOT NULL DEFAULT now(),
  granted_by   text NOT NULL DEFAULT current_user,
  PRIMARY KEY (household_id, role_name)
);

CREATE TABLE secrets.secrets (
  household_id  uuid NOT NULL,
  id            uuid NOT NULL DEFAULT gen_random_uuid(),
  scope         text NOT NULL,
  node_id       text,
  key           text NOT NULL,
  value         bytea NOT NULL,
  value_type    text NOT NULL DEFAULT 'string',
  description   text,
  friendly_name text,
  is_required   boolean NOT NULL DEFAULT true,
  is_sensitive  boolean NOT NULL DEFAULT true,
  has_value     boolean NOT NULL DEFAULT true,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  updated_by    text NOT NULL,
  CONSTRAINT secrets_pkey PRIMARY KEY (household_id, id),
  CONSTRAINT secrets_identity UNIQUE NULLS NOT DISTINCT (household_id, key, scope, node_id),
  CONSTRAINT secrets_scope_check CHECK (scope IN ('integration', 'node')),
  CONSTRAINT secrets_node_scope_check CHECK ((scope = 'node') = (node_id IS NOT NULL)),
  CONSTRAINT secrets_node_id_check CHECK (node_id <> '' AND length(node_id) <= 255),
  CONSTRAINT secrets_key_check CHECK (key ~ '^[A-Z][A-Z0-9_]*$' AND length(key) <= 255),
  CONSTRAINT secrets_value_type_check CHECK (value_type IN ('string', 'int', 'bool')),
  CONSTRAINT secrets_value_is_ciphertext CHECK (
    CASE WHEN length(value) >= 46 THEN get_byte(value, 0) = 1 ELSE false END)
);
COMMENT ON TABLE secrets.secrets IS 'Household secrets; value holds pgsecrets ciphertext only.';

ALTER TABLE secrets.household_grants OWNER TO pgsecrets_owner;
ALTER TABLE secrets.secrets OWNER TO pgsecrets_owner;
ALTER TABLE secrets.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets.secrets FORCE ROW LEVEL SECURITY;

CREATE POLICY secrets_select ON secrets.secrets FOR SELECT
  USING (secrets.row_visible(household_id, scope, node_id, 1));
CREATE POLICY secrets_insert ON secrets.secrets FOR INSERT
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secrets_update ON secrets.secrets FOR UPDATE
  USING (secrets.row_visible(household_id, scope, node_id, 2))
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secrets_delete ON secrets.secrets FOR DELETE
  USING (secrets.row_visible(household_id, scope, node_id, 2));

-- pg_dump keeps the rows (ciphertext) and the grants; never a key.
SELECT pg_catalog.pg_extension_config_dump('secrets.secrets', '');
SELECT pg_catalog.pg_extension_config_dump('secrets.household_grants', '');

CREATE TYPE secrets.secret_metadata AS (
  id            uuid,
  key           text,
  scope         text,
  node_id       text,
  value_type    text,
  description   text,
  friendly_name text,
  is_required   boolean,
  is_sensitive  boolean,
  has_value     boolean,
  version       integer,
  key_version   bigint,
  created_at    timestamptz,
  updated_at    timestamptz,
  created_by    text,
  updated_by    text
);

CREATE FUNCTION secrets.metadata_of(s secrets.secrets)
RETURNS secrets.secret_metadata LANGUAGE sql STABLE PARALLEL SAFE
RETURN ROW(s.id, s.key, s.scope, s.node_id, s.value_type, s.description, s.friendly_name,
           s.is_required, s.is_sensitive, s.has_value, s.version,
           secrets.ciphertext_key_version(s.value),
           s.created_at, s.updated_at, s.created_by, s.updated_by)::secrets.secret_metadata;

-- ---------------------------------------------------------------- validation
CREATE FUNCTION secrets.require_household() RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
  h uuid := secrets.current_household();
BEGIN
  IF h IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SE003',
      MESSAGE = 'no household is selected for this session',
      HINT = 'Grant the role a household with secrets.grant_household(), or pick one with secrets.use_household().';
  END IF;
  RETURN h;
END $$;

CREATE FUNCTION secrets.require_privilege(needed text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
  h uuid := secrets.require_household();
  have text := secrets.current_privilege();
  rank constant jsonb := '{"none":0,"read":1,"write":2,"admin":3}';
BEGIN
  IF (rank ->> have)::int < (rank ->> needed)::int THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('permission denied: this session has %s access to the household, %s is needed', have, needed);
  END IF;
  RETURN h;
END $$;

CREATE FUNCTION secrets.check_key(key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF key IS NULL OR key !~ '^[A-Z][A-Z0-9_]*$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)';
  END IF;
  IF length(key) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'Key must be 255 characters or less';
  END IF;
END $$;

CREATE FUNCTION secrets.check_scope(scope text, node_id text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF scope IS NULL OR scope NOT IN ('integration', 'node') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope must be "integration" or "node"';
  END IF;
  IF scope = 'node' AND (node_id IS NULL OR node_id = '') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope "node" requires a node_id';
  END IF;
  IF scope = 'integration' AND node_id IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope "integration" does not take a node_id';
  END IF;
  IF length(node_id) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'node_id must be 255 characters or less';
  END IF;
END $$;

-- Returns the value as stored (bools lower-cased); the empty string means
-- "not set yet" for every type. Never echoes the value in an error.
CREATE FUNCTION secrets.normalize_value(value text, value_type text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF value_type IS NULL OR value_type NOT IN ('string', 'int', 'bool') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'value_type must be "string", "int" or "bool"';
  END IF;
  IF value IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'value must not be null';
  END IF;
  IF value = '' OR value_type = 'string' THEN
    RETURN value;
  END IF;
  IF value_type = 'int' THEN
    IF value ~ '^[+-]?[0-9]{1,10}$' AND value::bigint BETWEEN -2147483648 AND 2147483647 THEN
      RETURN value;
    END IF;
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'value does not fit value_type "int"',
      DETAIL = 'An int value is an optional sign and digits, from -2147483648 to 2147483647.';
  END IF;
  IF lower(value) IN ('true', 'false') THEN
    RETURN lower(value);
  END IF;
  RAISE EXCEPTION USING ERRCODE = '22023',
    MESSAGE = 'value does not fit value_type "bool"',
    DETAIL = 'A bool value is true or false.';
END $$;

-- ---------------------------------------------------------------- the API
CREATE FUNCTION secrets.set_secret(key text, value text, scope text,
                                   value_type text DEFAULT 'string',
                                   node_id text DEFAULT NULL,
                                   description text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  v text;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  v := secrets.normalize_value(value, value_type);
  INSERT INTO secrets.secrets AS s
         (household_id, scope, node_id, key, value, value_type, description, has_value, created_by, updated_by)
  VALUES (h, scope, node_id, key,
          secrets.encrypt_secret(v, h, secrets.secret_context(scope, node_id, key)),
          value_type, description, v <> '', actor, actor)
  ON CONFLICT ON CONSTRAINT secrets_identity DO UPDATE
     SET value = EXCLUDED.value,
         value_type = EXCLUDED.value_type,
         description = coalesce(EXCLUDED.description, s.description),
         has_value = EXCLUDED.has_value,
         version = s.version + 1,
         updated_at = now(),
         updated_by = EXCLUDED.updated_by
  RETURNING s.* INTO written;
  RETURN secrets.metadata_of(written);
END $$;

-- Like set_secret, but a second create of the same secret is an error (REST POST).
CREATE FUNCTION secrets.create_secret(key text, value text,
                                      scope text DEFAULT 'integration',
                                      value_type text DEFAULT 'string',
                                      node_id text DEFAULT NULL,
                                      description text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  v text;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  v := secrets.normalize_value(value, value_type);
  INSERT INTO secrets.secrets AS s
         (household_id, scope, node_id, key, value, value_type, description, has_value, created_by, updated_by)
  VALUES (h, scope, node_id, key,
          secrets.encrypt_secret(v, h, secrets.secret_context(scope, node_id, key)),
          value_type, description, v <> '', actor, actor)
  ON CONFLICT ON CONSTRAINT secrets_identity DO NOTHING
  RETURNING s.* INTO written;
  IF written.id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '23505',
      MESSAGE = format('Secret with key "%s" already exists', key);
  END IF;
  RETURN secrets.metadata_of(written);
END $$;

-- Changes the value and/or description of an existing secret (REST PUT).
CREATE FUNCTION secrets.update_secret(key text,
                                      scope text DEFAULT 'integration',
                                      node_id text DEFAULT NULL,
                                      value text DEFAULT NULL,
                                      description text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  current_type text;
  v text;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  SELECT s.value_type INTO current_type FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('Secret with key "%s" not found', key);
  END IF;
  IF value IS NOT NULL THEN
    v := secrets.normalize_value(value, current_type);
  END IF;
  UPDATE secrets.secrets s
     SET value = CASE WHEN v IS NULL THEN s.value
                      ELSE secrets.encrypt_secret(v, h, secrets.secret_context(s.scope, s.node_id, s.key)) END,
         has_value = CASE WHEN v IS NULL THEN s.has_value ELSE v <> '' END,
         description = coalesce(description, s.description),
         version = s.version + 1,
         updated_at = now(),
         updated_by = secrets.current_actor()
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
  RETURNING s.* INTO written;
  RETURN secrets.metadata_of(written);
END $$;

CREATE FUNCTION secrets.get_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_household();
  result text;
BEGIN
  SELECT secrets.decrypt_secret(s.value, s.household_id, secrets.secret_context(s.scope, s.node_id, s.key))
    INTO result
    FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id;
  RETURN result;
END $$;

CREATE FUNCTION secrets.get_secret_int(key text, scope text, node_id text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
  v text := secrets.get_secret(key, scope, node_id);
BEGIN
  IF v ~ '^[+-]?[0-9]{1,10}$' AND v::bigint BETWEEN -2147483648 AND 2147483647 THEN
    RETURN v::integer;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION secrets.get_secret_bool(key text, scope text, node_id text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
  v text := lower(secrets.get_secret(key, scope, node_id));
BEGIN
  RETURN CASE v WHEN 'true' THEN true WHEN 'false' THEN false ELSE NULL END;
END $$;

CREATE FUNCTION secrets.delete_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
BEGIN
  DELETE FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id;
  RETURN FOUND;
END $$;

-- Creates the row with an empty value when it is missing; never overwrites.
-- Returns true when it created the row.
CREATE FUNCTION secrets.ensure_secret_exists(key text, scope text,
                                             value_type text DEFAULT 'string',
                                             node_id text DEFAULT NULL,
                                             description text DEFAULT NULL,
                                             friendly_name text DEFAULT NULL,
                                             is_required boolean DEFAULT true,
                                             is_sensitive boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  created_id uuid;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  PERFORM secrets.normalize_value('', value_type);
  INSERT INTO secrets.secrets AS s
         (household_id, scope, node_id, key, value, value_type, description, friendly_name,
          is_required, is_sensitive, has_value, created_by, updated_by)
  VALUES (h, scope, node_id, key,
          secrets.encrypt_secret('', h, secrets.secret_context(scope, node_id, key)),
          value_type, description, friendly_name,
          coalesce(is_required, true), coalesce(is_sensitive, true), false, actor, actor)
  ON CONFLICT ON CONSTRAINT secrets_identity DO NOTHING
  RETURNING s.id INTO created_id;
  RETURN created_id IS NOT NULL;
END $$;

-- Ensures every secret a manifest declares. Accepts a list of declarations,
-- {"secrets": [...]}, a command object with all_possible_secrets or
-- required_secrets (the former preferred, as install_command.py does), or a
-- list of such commands. All or nothing; returns the number of rows created.
CREATE FUNCTION secrets.seed_secrets(manifest jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  decls jsonb := '[]';
  cmd jsonb;
  d jsonb;
  n int := 0;
  i int := 0;
  list jsonb;
BEGIN
  IF manifest IS NULL OR jsonb_typeof(manifest) NOT IN ('array', 'object') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'manifest must be a JSON array or object';
  END IF;
  FOR cmd IN SELECT e FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(manifest) = 'array' THEN manifest ELSE jsonb_build_array(manifest) END) AS e
  LOOP
    IF jsonb_typeof(cmd) <> 'object' THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'manifest entries must be JSON objects';
    END IF;
    IF cmd ? 'key' THEN
      decls := decls || jsonb_build_array(cmd);
    ELSE
      list := coalesce(cmd -> 'all_possible_secrets', cmd -> 'secrets', cmd -> 'required_secrets', '[]');
      IF jsonb_typeof(list) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a command''s secrets must be a JSON array';
      END IF;
      decls := decls || list;
    END IF;
  END LOOP;

  FOR d IN SELECT e FROM jsonb_array_elements(decls) AS e LOOP
    i := i + 1;
    IF jsonb_typeof(d) <> 'object' OR jsonb_typeof(d -> 'key') IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('manifest secret %s: "key" must be a string', i);
    END IF;
    IF (d ? 'required' AND jsonb_typeof(d -> 'required') <> 'boolean')
       OR (d ? 'is_sensitive' AND jsonb_typeof(d -> 'is_sensitive') <> 'boolean') THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('manifest secret %s: "required" and "is_sensitive" must be booleans', i);
    END IF;
    IF secrets.ensure_secret_exists(
         key => d ->> 'key',
         scope => coalesce(d ->> 'scope', 'integration'),
         value_type => coalesce(d ->> 'value_type', 'string'),
         node_id => d ->> 'node_id',
         description => d ->> 'description',
         friendly_name => d ->> 'friendly_name',
         is_required => coalesce((d -> 'required')::boolean, true),
         is_sensitive => coalesce((d -> 'is_sensitive')::boolean, true)) THEN
      n := n + 1;
    END IF;
  END LOOP;
  RETURN n;
END $$;

CREATE FUNCTION secrets.list_secrets(scope text DEFAULT NULL)
RETURNS SETOF secrets.secret_metadata
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_household();
BEGIN
  IF scope IS NOT NULL AND scope NOT IN ('integration', 'node') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope must be "integration" or "node"';
  END IF;
  RETURN QUERY
    SELECT m.*
      FROM secrets.secrets s, LATERAL secrets.metadata_of(s) m
     WHERE s.household_id = h AND (scope IS NULL OR s.scope = scope)
     ORDER BY s.key, s.scope, s.node_id;
END $$;

-- Values in clear, for the roles allowed to read them: row-level security
-- limits the rows to the session's household.
CREATE VIEW secrets.decrypted_secrets WITH (security_barrier) AS
SELECT s.household_id, s.id, s.key, s.scope, s.node_id, s.value_type, s.description,
       secrets.decrypt_secret(s.value, s.household_id,
                              secrets.secret_context(s.scope, s.node_id, s.key)) AS decrypted_value,
       s.version, s.created_at, s.updated_at, s.created_by, s.updated_by
  FROM secrets.secrets s;
ALTER VIEW secrets.decrypted_secrets OWNER TO pgsecrets_owner;

-- ---------------------------------------------------------------- administration
-- Binds a database role to a household. Superusers only.
CREATE FUNCTION secrets.grant_household(role name, household_id uuid, privilege text DEFAULT 'read')
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
  IF privilege IS NULL OR privilege NOT IN ('read', 'write', 'admin') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'privilege must be "read", "write" or "admin"';
  END IF;
  IF household_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'household_id must not be null';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
    RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', role);
  END IF;
  INSERT INTO secrets.household_grants AS g (household_id, role_name, privilege)
  VALUES (household_id, role, privilege)
  ON CONFLICT ON CONSTRAINT household_grants_pkey DO UPDATE
     SET privilege = EXCLUDED.privilege, granted_at = now(), granted_by = current_user;
  IF NOT pg_catalog.pg_has_role(role, 'pgsecrets_user', 'MEMBER') THEN
    EXECUTE format('GRANT pgsecrets_user TO %I', role);
  END IF;
END $$;

CREATE FUNCTION secrets.revoke_household(role name, household_id uuid)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
  DELETE FROM secrets.household_grants g WHERE g.household_id = household_id AND g.role_name = role;
  RETURN FOUND;
END $$;

-- Key versions: loaded ones and the ones rows are encrypted under, with row
-- counts over every household. Never shows key material.
CREATE FUNCTION secrets.key_status()
RETURNS TABLE (key_version bigint, active boolean, loaded boolean, rows bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH used AS (
    SELECT secrets.ciphertext_key_version(s.value) AS v, count(*) AS n
      FROM secrets.secrets s GROUP BY 1
  ), loaded AS (
    SELECT l.key_version AS v, l.active FROM secrets.loaded_key_versions() l
  )
  SELECT coalesce(l.v, u.v), coalesce(l.active, false), l.v IS NOT NULL, coalesce(u.n, 0)
    FROM loaded l FULL JOIN used u ON u.v = l.v
   ORDER BY 1
$$;

-- ---------------------------------------------------------------- privileges
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA secrets FROM PUBLIC;
REVOKE ALL ON secrets.secrets, secrets.household_grants FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON secrets.secrets TO pgsecrets_owner;
GRANT SELECT ON secrets.household_grants TO pgsecrets_owner;
GRANT SELECT ON secrets.secrets TO pgsecrets_user;       -- metadata and ciphertext; RLS applies
GRANT SELECT ON secrets.decrypted_secrets TO pgsecrets_user;

GRANT EXECUTE ON FUNCTION
  secrets.encrypt_secret(text, uuid, text),
  secrets.decrypt_secret(bytea, uuid, text),
  secrets.ciphertext_key_version(bytea),
  secrets.set_context(uuid, text, text),
  secrets.use_household(uuid),
  secrets.current_household(),
  secrets.current_actor(),
  secrets.current_node(),
  secrets.current_privilege(),
  secrets.row_visible(uuid, text, text, int),
  secrets.secret_context(text, text, text),
  secrets.metadata_of(secrets.secrets),
  secrets.require_household(),
  secrets.require_privilege(text),
  secrets.check_key(text),
  secrets.check_scope(text, text),
  secrets.normalize_value(text, text),
  secrets.set_secret(text, text, text, text, text, text),
  secrets.create_secret(text, text, text, text, text, text),
  secrets.update_secret(text, text, text, text, text),
  secrets.get_secret(text, text, text),
  secrets.get_secret_int(text, text, text),
  secrets.get_secret_bool(text, text, text),
  secrets.delete_secret(text, text, text),
  secrets.ensure_secret_exists(text, text, text, text, text, text, boolean, boolean),
  secrets.seed_secrets(jsonb),
  secrets.list_secrets(text)
TO pgsecrets_user;
GRANT EXECUTE ON FUNCTION secrets.key_status(), secrets.loaded_key_versions() TO pgsecrets_gateway;

ALTER FUNCTION secrets.set_secret(text, text, text, text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.create_secret(text, text, text, text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.update_secret(text, text, text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.get_secret(text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.delete_secret(text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.ensure_secret_exists(text, text, text, text, text, text, boolean, boolean) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.list_secrets(text) OWNER TO pgsecrets_owner;
