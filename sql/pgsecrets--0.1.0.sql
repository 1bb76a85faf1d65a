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


CREATE FUNCTION secrets.current_db_role()
RETURNS text AS 'MODULE_PATHNAME', 'pgsecrets_current_db_role'
LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Re-encrypts a value under the active key version without the plaintext
-- ever becoming an SQL datum (key rotation). Superusers only.
CREATE FUNCTION secrets.rewrap(ciphertext bytea, household_id uuid, context text)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgsecrets_rewrap'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- The audit chain's MAC over a link, keyed by a subkey of (root key version,
-- household); NULL when that version is not loaded. Owner only.
CREATE FUNCTION secrets.audit_mac(key_version bigint, household_id uuid, link bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgsecrets_audit_mac'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

-- Trigger: secrets.audit_log refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION secrets.audit_guard()
RETURNS trigger AS 'MODULE_PATHNAME', 'pgsecrets_audit_guard'
LANGUAGE C;

-- The retention purge of the audit log, the guard's only exception. Superusers only.
CREATE FUNCTION secrets.purge_audit_log(before timestamptz)
RETURNS bigint AS 'MODULE_PATHNAME', 'pgsecrets_purge_audit_log'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- ---------------------------------------------------------------- tables
-- Every primary key and unique constraint begins with household_id, and
-- row-level security is forced on every table holding household data.
CREATE TABLE secrets.household_grants (
  household_id uuid NOT NULL,
  role_name    name NOT NULL,
  privilege    text NOT NULL CHECK (privilege IN ('read', 'write', 'admin')),
  granted_at   timestamptz NOT NULL DEFAULT now(),
  granted_by   text NOT NULL DEFAULT current_user,
  PRIMARY KEY (household_id, role_name)
);

-- The current version of each secret. A deleted secret stays as a tombstone
-- (deleted_at set) until it is purged, so it can be restored; the API, the
-- views and the table as other roles see it skip tombstones.
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
  deleted_at    timestamptz,
  deleted_by    text,
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
-- No index covers value, and each page keeps 20% free, so that a rewrap or
-- a new value is a HOT update: the row changes in place, no index entry is
-- written (half the cost of a key rotation, bench/README.md). Rotation
-- therefore finds its rows by walking the table (secrets.rotate), not
-- through an index on the key version.
ALTER TABLE secrets.secrets SET (fillfactor = 80);

-- Previous versions of each secret, up to the household's max_versions
-- (counting the current one). A history row keeps the secret's identity, so
-- its ciphertext is bound to the same associated data as the current row's
-- and a rollback copies it back unchanged.
CREATE TABLE secrets.secret_versions (
  household_id uuid NOT NULL,
  secret_id    uuid NOT NULL,
  version      integer NOT NULL,
  scope        text NOT NULL,
  node_id      text,
  key          text NOT NULL,
  value        bytea NOT NULL,
  value_type   text NOT NULL,
  has_value    boolean NOT NULL,
  written_at   timestamptz NOT NULL,
  written_by   text NOT NULL,
  replaced_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT secret_versions_pkey PRIMARY KEY (household_id, secret_id, version),
  CONSTRAINT secret_versions_secret_fkey FOREIGN KEY (household_id, secret_id)
    REFERENCES secrets.secrets (household_id, id) ON DELETE CASCADE,
  CONSTRAINT secret_versions_value_is_ciphertext CHECK (
    CASE WHEN length(value) >= 46 THEN get_byte(value, 0) = 1 ELSE false END)
);
ALTER TABLE secrets.secret_versions SET (fillfactor = 90);  -- only rotation updates history rows

-- How far secrets.rotate() has walked each table: the next block to look
-- at. Written in the batch's transaction, so a crash resumes where the last
-- committed batch ended.
CREATE TABLE secrets.rotation_cursor (
  relname    text PRIMARY KEY CHECK (relname IN ('secrets', 'secret_versions')),
  next_block bigint NOT NULL DEFAULT 0
);
INSERT INTO secrets.rotation_cursor (relname) VALUES ('secrets'), ('secret_versions');

-- Per-household settings; a household without a row uses the defaults.
CREATE TABLE secrets.household_settings (
  household_id     uuid NOT NULL PRIMARY KEY,
  max_versions     integer NOT NULL DEFAULT 10 CHECK (max_versions BETWEEN 1 AND 1000),
  audit_reads      boolean NOT NULL DEFAULT false,
  delete_retention interval NOT NULL DEFAULT '30 days' CHECK (delete_retention >= interval '0'),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  updated_by       text NOT NULL
);

-- Append-only. Each household's entries form a chain: link is SHA-256 of the
-- previous entry's link and this entry's canonical message
-- (secrets.audit_message), mac a keyed BLAKE2b of link under a subkey of the
-- root key version chain_key_version. Key rotation's entries belong to the
-- all-zero household. No entry ever holds a value.
CREATE TABLE secrets.audit_log (
  household_id      uuid NOT NULL,
  seq               bigint NOT NULL,
  id                bigint GENERATED BY DEFAULT AS IDENTITY,
  at                timestamptz NOT NULL,
  actor             text NOT NULL,
  db_role           text NOT NULL,
  login_role        text NOT NULL,
  action            text NOT NULL,
  scope             text,
  node_id           text,
  key               text,
  version           integer,
  detail            jsonb,
  chain_key_version bigint NOT NULL,
  link              bytea NOT NULL,
  mac               bytea NOT NULL,
  CONSTRAINT audit_log_pkey PRIMARY KEY (household_id, seq),
  CONSTRAINT audit_log_action_check CHECK (action IN (
    'create', 'update', 'delete', 'restore', 'purge', 'rollback', 'read',
    'rotate', 'grant', 'revoke', 'configure', 'audit_purge'))
);
CREATE INDEX audit_log_key_idx ON secrets.audit_log (household_id, key, scope, node_id);
CREATE INDEX audit_log_at_idx ON secrets.audit_log (at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON secrets.audit_log
  FOR EACH ROW EXECUTE FUNCTION secrets.audit_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON secrets.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION secrets.audit_guard();
ALTER TABLE secrets.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE secrets.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

ALTER TABLE secrets.household_grants OWNER TO pgsecrets_owner;
ALTER TABLE secrets.secrets OWNER TO pgsecrets_owner;
ALTER TABLE secrets.secret_versions OWNER TO pgsecrets_owner;
ALTER TABLE secrets.household_settings OWNER TO pgsecrets_owner;
ALTER TABLE secrets.audit_log OWNER TO pgsecrets_owner;
ALTER TABLE secrets.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets.secrets FORCE ROW LEVEL SECURITY;
ALTER TABLE secrets.secret_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets.secret_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE secrets.household_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets.household_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE secrets.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets.audit_log FORCE ROW LEVEL SECURITY;

-- Tombstones are visible only to the API (which runs as pgsecrets_owner).
CREATE POLICY secrets_select ON secrets.secrets FOR SELECT
  USING (secrets.row_visible(household_id, scope, node_id, 1)
         AND (deleted_at IS NULL OR current_user = 'pgsecrets_owner'));
CREATE POLICY secrets_insert ON secrets.secrets FOR INSERT
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secrets_update ON secrets.secrets FOR UPDATE
  USING (secrets.row_visible(household_id, scope, node_id, 2))
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secrets_delete ON secrets.secrets FOR DELETE
  USING (secrets.row_visible(household_id, scope, node_id, 2));

-- The history of a deleted secret is hidden with it (the API sees it).
CREATE POLICY secret_versions_select ON secrets.secret_versions FOR SELECT
  USING (secrets.row_visible(household_id, scope, node_id, 1)
         AND (current_user = 'pgsecrets_owner'
              OR EXISTS (SELECT 1 FROM secrets.secrets s
                          WHERE s.household_id = secret_versions.household_id
                            AND s.id = secret_versions.secret_id AND s.deleted_at IS NULL)));
CREATE POLICY secret_versions_insert ON secrets.secret_versions FOR INSERT
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secret_versions_update ON secrets.secret_versions FOR UPDATE
  USING (secrets.row_visible(household_id, scope, node_id, 2))
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, 2));
CREATE POLICY secret_versions_delete ON secrets.secret_versions FOR DELETE
  USING (secrets.row_visible(household_id, scope, node_id, 2));

CREATE POLICY household_settings_select ON secrets.household_settings FOR SELECT
  USING (secrets.row_visible(household_id, NULL, NULL, 1));
CREATE POLICY household_settings_insert ON secrets.household_settings FOR INSERT
  WITH CHECK (secrets.row_visible(household_id, NULL, NULL, 3));
CREATE POLICY household_settings_update ON secrets.household_settings FOR UPDATE
  USING (secrets.row_visible(household_id, NULL, NULL, 3))
  WITH CHECK (secrets.row_visible(household_id, NULL, NULL, 3));

-- Household admins read their household's audit trail; the API (as
-- pgsecrets_owner) reads the chain head of the household it writes for.
CREATE POLICY audit_log_select ON secrets.audit_log FOR SELECT
  USING (secrets.row_visible(household_id, NULL, NULL,
                             CASE WHEN current_user = 'pgsecrets_owner' THEN 1 ELSE 3 END));
CREATE POLICY audit_log_insert ON secrets.audit_log FOR INSERT
  WITH CHECK (secrets.row_visible(household_id, NULL, NULL, 1));

-- pg_dump keeps the rows (ciphertext), history, settings, audit trail and
-- grants; never a key.
SELECT pg_catalog.pg_extension_config_dump('secrets.secrets', '');
SELECT pg_catalog.pg_extension_config_dump('secrets.household_grants', '');
SELECT pg_catalog.pg_extension_config_dump('secrets.secret_versions', '');
SELECT pg_catalog.pg_extension_config_dump('secrets.household_settings', '');
SELECT pg_catalog.pg_extension_config_dump('secrets.audit_log', '');

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
  updated_by    text,
  deleted_at    timestamptz,
  deleted_by    text
);

CREATE FUNCTION secrets.metadata_of(s secrets.secrets)
RETURNS secrets.secret_metadata LANGUAGE sql STABLE PARALLEL SAFE
RETURN ROW(s.id, s.key, s.scope, s.node_id, s.value_type, s.description, s.friendly_name,
           s.is_required, s.is_sensitive, s.has_value, s.version,
           secrets.ciphertext_key_version(s.value),
           s.created_at, s.updated_at, s.created_by, s.updated_by,
           s.deleted_at, s.deleted_by)::secrets.secret_metadata;

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


-- ---------------------------------------------------------------- versions, settings, audit helpers
-- Serializes the writers of one household until the end of the transaction,
-- so its audit chain stays linear. Every write takes it before any row lock,
-- so two writers never wait on each other in opposite orders.
CREATE FUNCTION secrets.lock_household(household_id uuid) RETURNS void
LANGUAGE sql VOLATILE
RETURN pg_catalog.pg_advisory_xact_lock(1886610292, pg_catalog.hashtext(household_id::text));

-- The household's settings, or the defaults when it has no row.
CREATE FUNCTION secrets.settings_for(household uuid) RETURNS secrets.household_settings
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s secrets.household_settings;
BEGIN
  SELECT * INTO s FROM secrets.household_settings hs WHERE hs.household_id = household;
  IF NOT FOUND THEN
    s := ROW(household, 10, false, interval '30 days', NULL, NULL)::secrets.household_settings;
  END IF;
  RETURN s;
END $$;

-- Optimistic concurrency: expected is the version the caller read (0 for
-- "does not exist"); NULL skips the check.
CREATE FUNCTION secrets.check_expected_version(expected integer, cur secrets.secrets) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
  found_version integer := CASE WHEN cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN 0 ELSE cur.version END;
BEGIN
  IF expected IS NOT NULL AND expected <> found_version THEN
    RAISE EXCEPTION USING ERRCODE = 'SE005',
      MESSAGE = format('secret was changed concurrently (expected version %s, found %s)', expected, found_version),
      DETAIL = 'Version 0 means the secret does not exist (or is deleted).',
      HINT = 'Read the secret again and retry with its current version.';
  END IF;
END $$;

-- The bytes an audit entry's link covers: every field but id, link and mac,
-- in a fixed order and a form that does not depend on session settings.
CREATE FUNCTION secrets.audit_message(a secrets.audit_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN convert_to(jsonb_build_array(a.household_id, a.seq, extract(epoch FROM a.at), a.actor,
                                    a.db_role, a.login_role, a.action, a.scope, a.node_id,
                                    a.key, a.version, a.detail, a.chain_key_version)::text, 'UTF8');

-- Appends one entry to a household's chain, in the caller's transaction.
-- Never given a value: callers pass names, versions and counts only.
CREATE FUNCTION secrets.audit_write(household uuid, action text, scope text, node_id text,
                                    key text, version integer, detail jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  e secrets.audit_log;
  prev_link bytea;
BEGIN
  PERFORM secrets.lock_household(household);
  SELECT a.seq, a.link INTO e.seq, prev_link
    FROM secrets.audit_log a WHERE a.household_id = household ORDER BY a.seq DESC LIMIT 1;
  SELECT l.key_version INTO e.chain_key_version FROM secrets.loaded_key_versions() l WHERE l.active;
  IF e.chain_key_version IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SE002', MESSAGE = 'no active pgsecrets root key is loaded';
  END IF;
  e.household_id := household;
  e.seq := coalesce(e.seq, 0) + 1;
  e.at := clock_timestamp();
  e.actor := secrets.current_actor();
  e.db_role := secrets.current_db_role();
  e.login_role := session_user;
  e.action := action;
  e.scope := scope;
  e.node_id := node_id;
  e.key := key;
  e.version := version;
  e.detail := detail;
  e.link := sha256(coalesce(prev_link, '\x'::bytea) || secrets.audit_message(e));
  e.mac := secrets.audit_mac(e.chain_key_version, household, e.link);
  INSERT INTO secrets.audit_log (household_id, seq, at, actor, db_role, login_role, action,
                                 scope, node_id, key, version, detail, chain_key_version, link, mac)
  VALUES (e.household_id, e.seq, e.at, e.actor, e.db_role, e.login_role, e.action,
          e.scope, e.node_id, e.key, e.version, e.detail, e.chain_key_version, e.link, e.mac);
END $$;

-- Trigger: a new version of a secret keeps the previous one (ciphertext and
-- all), and versions beyond the household's max_versions are dropped. A
-- deleted secret that is set again starts a new life: its old values (the
-- deleted one and its history) are dropped, so nothing restore_secret would
-- refuse after the retention window comes back through version=n or a
-- rollback.
CREATE FUNCTION secrets.keep_previous_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  keep integer := (secrets.settings_for(NEW.household_id)).max_versions;
BEGIN
  IF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
    DELETE FROM secrets.secret_versions v
     WHERE v.household_id = NEW.household_id AND v.secret_id = NEW.id;
    RETURN NULL;
  END IF;
  IF OLD.version > NEW.version - keep THEN
    INSERT INTO secrets.secret_versions (household_id, secret_id, version, scope, node_id, key,
                                         value, value_type, has_value, written_at, written_by)
    VALUES (OLD.household_id, OLD.id, OLD.version, OLD.scope, OLD.node_id, OLD.key,
            OLD.value, OLD.value_type, OLD.has_value, OLD.updated_at, OLD.updated_by);
  END IF;
  DELETE FROM secrets.secret_versions v
   WHERE v.household_id = NEW.household_id AND v.secret_id = NEW.id
     AND v.version <= NEW.version - keep;
  RETURN NULL;
END $$;
CREATE TRIGGER secrets_keep_previous_version AFTER UPDATE ON secrets.secrets
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
  EXECUTE FUNCTION secrets.keep_previous_version();

-- Read auditing, when the household switched it on.
CREATE FUNCTION secrets.audit_read(household uuid, scope text, node_id text, key text, version integer)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF (secrets.settings_for(household)).audit_reads THEN
    PERFORM secrets.audit_write(household, 'read', scope, node_id, key, version);
  END IF;
END $$;

-- ---------------------------------------------------------------- the API
-- Every write takes the household lock first, then the secret's row lock;
-- expected_version (optional) is the version the caller read, 0 for "must
-- not exist": a mismatch is SQLSTATE SE005 and changes nothing.

-- Creates or changes a secret (upsert); re-creates a deleted one.
CREATE FUNCTION secrets.set_secret(key text, value text, scope text,
                                   value_type text DEFAULT 'string',
                                   node_id text DEFAULT NULL,
                                   description text DEFAULT NULL,
                                   expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  v text;
  cur secrets.secrets;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  v := secrets.normalize_value(value, value_type);
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  PERFORM secrets.check_expected_version(expected_version, cur);
  IF cur.id IS NULL THEN
    INSERT INTO secrets.secrets AS s
           (household_id, scope, node_id, key, value, value_type, description, has_value, created_by, updated_by)
    VALUES (h, scope, node_id, key,
            secrets.encrypt_secret(v, h, secrets.secret_context(scope, node_id, key)),
            value_type, description, v <> '', actor, actor)
    RETURNING s.* INTO written;
  ELSE
    UPDATE secrets.secrets s
       SET value = secrets.encrypt_secret(v, h, secrets.secret_context(s.scope, s.node_id, s.key)),
           value_type = value_type,
           description = coalesce(description, s.description),
           has_value = v <> '',
           version = s.version + 1,
           updated_at = now(),
           updated_by = actor,
           deleted_at = NULL,
           deleted_by = NULL
     WHERE s.household_id = h AND s.id = cur.id
    RETURNING s.* INTO written;
  END IF;
  PERFORM secrets.audit_write(h, CASE WHEN cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN 'create' ELSE 'update' END,
                              scope, node_id, key, written.version);
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
  cur_version integer;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  PERFORM secrets.normalize_value(value, value_type);
  PERFORM secrets.lock_household(h);
  SELECT s.version INTO cur_version FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id AND s.deleted_at IS NULL;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '23505',
      MESSAGE = format('Secret with key "%s" already exists', key);
  END IF;
  RETURN secrets.set_secret(key, value, scope, value_type, node_id, description);
END $$;

-- Changes the value and/or description of an existing secret (REST PUT).
CREATE FUNCTION secrets.update_secret(key text,
                                      scope text DEFAULT 'integration',
                                      node_id text DEFAULT NULL,
                                      value text DEFAULT NULL,
                                      description text DEFAULT NULL,
                                      expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  cur secrets.secrets;
  v text;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  PERFORM secrets.check_expected_version(expected_version, cur);
  IF cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('Secret with key "%s" not found', key);
  END IF;
  IF value IS NOT NULL THEN
    v := secrets.normalize_value(value, cur.value_type);
  END IF;
  UPDATE secrets.secrets s
     SET value = CASE WHEN v IS NULL THEN s.value
                      ELSE secrets.encrypt_secret(v, h, secrets.secret_context(s.scope, s.node_id, s.key)) END,
         has_value = CASE WHEN v IS NULL THEN s.has_value ELSE v <> '' END,
         description = coalesce(description, s.description),
         version = s.version + 1,
         updated_at = now(),
         updated_by = secrets.current_actor()
   WHERE s.household_id = h AND s.id = cur.id
  RETURNING s.* INTO written;
  PERFORM secrets.audit_write(h, 'update', scope, node_id, key, written.version);
  RETURN secrets.metadata_of(written);
END $$;

-- The value of the current version, or of an earlier one still kept
-- (version => n); NULL when there is no such secret or version.
CREATE FUNCTION secrets.get_secret(key text, scope text, node_id text DEFAULT NULL,
                                   version integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_household();
  cur_id uuid;
  cur_version integer;
  result text;
BEGIN
  SELECT s.id, s.version,
         CASE WHEN version IS NULL OR version = s.version
              THEN secrets.decrypt_secret(s.value, s.household_id, secrets.secret_context(s.scope, s.node_id, s.key)) END
    INTO cur_id, cur_version, result
    FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id AND s.deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF version IS NOT NULL AND version <> cur_version THEN
    SELECT secrets.decrypt_secret(v.value, v.household_id, secrets.secret_context(v.scope, v.node_id, v.key))
      INTO result
      FROM secrets.secret_versions v
     WHERE v.household_id = h AND v.secret_id = cur_id AND v.version = version;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
  END IF;
  PERFORM secrets.audit_read(h, scope, node_id, key, coalesce(version, cur_version));
  RETURN result;
END $$;

CREATE FUNCTION secrets.get_secret_int(key text, scope text, node_id text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
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
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
  v text := lower(secrets.get_secret(key, scope, node_id));
BEGIN
  RETURN CASE v WHEN 'true' THEN true WHEN 'false' THEN false ELSE NULL END;
END $$;

-- Soft delete: the secret becomes a tombstone that restore_secret() brings
-- back within the household's delete_retention, until it is purged.
-- True when a secret was deleted.
CREATE FUNCTION secrets.delete_secret(key text, scope text, node_id text DEFAULT NULL,
                                      expected_version integer DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  cur secrets.secrets;
BEGIN
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  PERFORM secrets.check_expected_version(expected_version, cur);
  IF cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN
    RETURN false;
  END IF;
  UPDATE secrets.secrets s SET deleted_at = now(), deleted_by = secrets.current_actor()
   WHERE s.household_id = h AND s.id = cur.id;
  PERFORM secrets.audit_write(h, 'delete', cur.scope, cur.node_id, cur.key, cur.version);
  RETURN true;
END $$;

-- Brings a deleted secret back, as it was, within the retention window
-- (SE006 after it); P0002 when there is no deleted secret of that name.
CREATE FUNCTION secrets.restore_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  cur secrets.secrets;
  retention interval := (secrets.settings_for(h)).delete_retention;
  written secrets.secrets;
BEGIN
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  IF cur.id IS NULL OR cur.deleted_at IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('No deleted secret with key "%s"', key);
  END IF;
  IF cur.deleted_at + retention < now() THEN
    RAISE EXCEPTION USING ERRCODE = 'SE006',
      MESSAGE = format('Secret "%s" was deleted more than %s ago and can no longer be restored', key, retention),
      HINT = 'It is removed by secrets.purge_secret() or secrets.purge_expired_secrets().';
  END IF;
  UPDATE secrets.secrets s SET deleted_at = NULL, deleted_by = NULL
   WHERE s.household_id = h AND s.id = cur.id
  RETURNING s.* INTO written;
  PERFORM secrets.audit_write(h, 'restore', cur.scope, cur.node_id, cur.key, cur.version);
  RETURN secrets.metadata_of(written);
END $$;

-- Removes a deleted secret and its history for good (admin). Refuses a
-- secret that is not deleted; false when there is no such secret.
CREATE FUNCTION secrets.purge_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('admin');
  cur secrets.secrets;
BEGIN
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  IF cur.id IS NULL THEN
    RETURN false;
  END IF;
  IF cur.deleted_at IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '55000',
      MESSAGE = format('Secret "%s" is not deleted; delete it before purging it', key);
  END IF;
  DELETE FROM secrets.secrets s WHERE s.household_id = h AND s.id = cur.id;
  PERFORM secrets.audit_write(h, 'purge', cur.scope, cur.node_id, cur.key, cur.version);
  RETURN true;
END $$;

-- Purges the tombstones older than their household's delete_retention: the
-- session's household, or every household for a superuser without one.
-- Returns the number of secrets purged.
CREATE FUNCTION secrets.purge_expired_secrets()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  only_household uuid := secrets.current_household();
  gone record;
  purged_version integer;
  n integer := 0;
BEGIN
  IF only_household IS NULL AND secrets.current_privilege() <> 'admin' THEN
    PERFORM secrets.require_household();
  END IF;
  IF only_household IS NOT NULL THEN
    PERFORM secrets.require_privilege('admin');
  END IF;
  FOR gone IN
    SELECT s.household_id, s.id, s.scope, s.node_id, s.key, s.version
      FROM secrets.secrets s
     WHERE s.deleted_at IS NOT NULL
       AND (only_household IS NULL OR s.household_id = only_household)
       AND s.deleted_at + (secrets.settings_for(s.household_id)).delete_retention < now()
     ORDER BY s.household_id
  LOOP
    PERFORM secrets.lock_household(gone.household_id);
    -- Checked again under the lock: the secret may have been re-created and
    -- deleted again while this waited, and that deletion is not expired.
    DELETE FROM secrets.secrets s
     WHERE s.household_id = gone.household_id AND s.id = gone.id AND s.deleted_at IS NOT NULL
       AND s.deleted_at + (secrets.settings_for(s.household_id)).delete_retention < now()
    RETURNING s.version INTO purged_version;
    IF FOUND THEN
      n := n + 1;
      PERFORM secrets.audit_write(gone.household_id, 'purge', gone.scope, gone.node_id, gone.key,
                                  purged_version, '{"expired": true}');
    END IF;
  END LOOP;
  RETURN n;
END $$;

-- The versions kept of a secret (the current one first), metadata only.
CREATE FUNCTION secrets.list_secret_versions(key text, scope text, node_id text DEFAULT NULL)
RETURNS TABLE (version integer, is_current boolean, value_type text, has_value boolean,
               key_version bigint, written_at timestamptz, written_by text, deleted_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_household();
  cur secrets.secrets;
BEGIN
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id;
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT cur.version, true, cur.value_type, cur.has_value,
           secrets.ciphertext_key_version(cur.value), cur.updated_at, cur.updated_by, cur.deleted_at
    UNION ALL
    (SELECT v.version, false, v.value_type, v.has_value, secrets.ciphertext_key_version(v.value),
            v.written_at, v.written_by, NULL::timestamptz
       FROM secrets.secret_versions v
      WHERE v.household_id = h AND v.secret_id = cur.id
      ORDER BY v.version DESC);
END $$;

-- Makes an earlier version's value current again, as a new version (its
-- ciphertext is copied: it is bound to the same secret). P0002 when the
-- secret or that version is not kept.
CREATE FUNCTION secrets.rollback_secret(key text, scope text, to_version integer,
                                        node_id text DEFAULT NULL,
                                        expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
  cur secrets.secrets;
  old secrets.secret_versions;
  written secrets.secrets;
BEGIN
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  PERFORM secrets.check_expected_version(expected_version, cur);
  IF cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('Secret with key "%s" not found', key);
  END IF;
  IF to_version = cur.version THEN
    old := ROW(cur.household_id, cur.id, cur.version, cur.scope, cur.node_id, cur.key, cur.value,
               cur.value_type, cur.has_value, cur.updated_at, cur.updated_by, now());
  ELSE
    SELECT v.* INTO old FROM secrets.secret_versions v
     WHERE v.household_id = h AND v.secret_id = cur.id AND v.version = to_version;
    IF old.version IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'P0002',
        MESSAGE = format('Version %s of secret "%s" is not kept', to_version, key),
        HINT = 'secrets.list_secret_versions() lists the versions kept.';
    END IF;
  END IF;
  UPDATE secrets.secrets s
     SET value = old.value,
         value_type = old.value_type,
         has_value = old.has_value,
         version = s.version + 1,
         updated_at = now(),
         updated_by = secrets.current_actor()
   WHERE s.household_id = h AND s.id = cur.id
  RETURNING s.* INTO written;
  PERFORM secrets.audit_write(h, 'rollback', cur.scope, cur.node_id, cur.key, written.version,
                              jsonb_build_object('from_version', to_version));
  RETURN secrets.metadata_of(written);
END $$;

-- Creates the row with an empty value when it is missing (or deleted);
-- never overwrites. Returns true when it created the row.
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
  cur secrets.secrets;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  PERFORM secrets.normalize_value('', value_type);
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  IF cur.id IS NOT NULL AND cur.deleted_at IS NULL THEN
    RETURN false;
  END IF;
  IF cur.id IS NULL THEN
    INSERT INTO secrets.secrets AS s
           (household_id, scope, node_id, key, value, value_type, description, friendly_name,
            is_required, is_sensitive, has_value, created_by, updated_by)
    VALUES (h, scope, node_id, key,
            secrets.encrypt_secret('', h, secrets.secret_context(scope, node_id, key)),
            value_type, description, friendly_name,
            coalesce(is_required, true), coalesce(is_sensitive, true), false, actor, actor)
    RETURNING s.* INTO written;
  ELSE
    UPDATE secrets.secrets s
       SET value = secrets.encrypt_secret('', h, secrets.secret_context(s.scope, s.node_id, s.key)),
           value_type = value_type, description = description, friendly_name = friendly_name,
           is_required = coalesce(is_required, true), is_sensitive = coalesce(is_sensitive, true),
           has_value = false, version = s.version + 1, updated_at = now(), updated_by = actor,
           deleted_at = NULL, deleted_by = NULL
     WHERE s.household_id = h AND s.id = cur.id
    RETURNING s.* INTO written;
  END IF;
  PERFORM secrets.audit_write(h, 'create', scope, node_id, key, written.version);
  RETURN true;
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

CREATE FUNCTION secrets.list_secrets(scope text DEFAULT NULL, include_deleted boolean DEFAULT false)
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
       AND (s.deleted_at IS NULL OR include_deleted IS TRUE)
     ORDER BY s.key, s.scope, s.node_id;
END $$;

-- Values in clear, for the roles allowed to read them: row-level security
-- limits the rows to the session's household. Not read-audited.
CREATE VIEW secrets.decrypted_secrets WITH (security_barrier) AS
SELECT s.household_id, s.id, s.key, s.scope, s.node_id, s.value_type, s.description,
       secrets.decrypt_secret(s.value, s.household_id,
                              secrets.secret_context(s.scope, s.node_id, s.key)) AS decrypted_value,
       s.version, s.created_at, s.updated_at, s.created_by, s.updated_by
  FROM secrets.secrets s
 WHERE s.deleted_at IS NULL;
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
  PERFORM secrets.lock_household(household_id);
  INSERT INTO secrets.household_grants AS g (household_id, role_name, privilege)
  VALUES (household_id, role, privilege)
  ON CONFLICT ON CONSTRAINT household_grants_pkey DO UPDATE
     SET privilege = EXCLUDED.privilege, granted_at = now(), granted_by = current_user;
  IF NOT pg_catalog.pg_has_role(role, 'pgsecrets_user', 'MEMBER') THEN
    EXECUTE format('GRANT pgsecrets_user TO %I', role);
  END IF;
  PERFORM secrets.audit_write(household_id, 'grant', NULL, NULL, NULL, NULL,
                              jsonb_build_object('role', role, 'privilege', privilege));
END $$;

CREATE FUNCTION secrets.revoke_household(role name, household_id uuid)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
  PERFORM secrets.lock_household(household_id);
  DELETE FROM secrets.household_grants g WHERE g.household_id = household_id AND g.role_name = role;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM secrets.audit_write(household_id, 'revoke', NULL, NULL, NULL, NULL,
                              jsonb_build_object('role', role));
  RETURN true;
END $$;

-- The session household's settings (defaults when never configured).
CREATE FUNCTION secrets.current_household_settings()
RETURNS secrets.household_settings
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN secrets.settings_for(secrets.require_household());
END $$;

-- Changes the session household's settings (admin); NULL keeps a setting.
-- Lowering max_versions drops the versions beyond it at once.
CREATE FUNCTION secrets.configure_household(max_versions integer DEFAULT NULL,
                                            audit_reads boolean DEFAULT NULL,
                                            delete_retention interval DEFAULT NULL)
RETURNS secrets.household_settings
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('admin');
  old secrets.household_settings;
  written secrets.household_settings;
BEGIN
  IF max_versions IS NOT NULL AND max_versions NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'max_versions must be from 1 to 1000';
  END IF;
  IF delete_retention IS NOT NULL AND delete_retention < interval '0' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'delete_retention must not be negative';
  END IF;
  PERFORM secrets.lock_household(h);
  old := secrets.settings_for(h);
  INSERT INTO secrets.household_settings AS hs
         (household_id, max_versions, audit_reads, delete_retention, updated_at, updated_by)
  VALUES (h, coalesce(max_versions, old.max_versions), coalesce(audit_reads, old.audit_reads),
          coalesce(delete_retention, old.delete_retention), now(), secrets.current_actor())
  ON CONFLICT (household_id) DO UPDATE
     SET max_versions = EXCLUDED.max_versions, audit_reads = EXCLUDED.audit_reads,
         delete_retention = EXCLUDED.delete_retention,
         updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
  RETURNING hs.* INTO written;
  DELETE FROM secrets.secret_versions v
   USING secrets.secrets s
   WHERE v.household_id = h AND s.household_id = h AND s.id = v.secret_id
     AND v.version <= s.version - written.max_versions;
  PERFORM secrets.audit_write(h, 'configure', NULL, NULL, NULL, NULL,
                              jsonb_build_object('max_versions', written.max_versions,
                                                 'audit_reads', written.audit_reads,
                                                 'delete_retention', written.delete_retention::text));
  RETURN written;
END $$;

-- ---------------------------------------------------------------- key rotation
-- Key versions: loaded ones and the ones values are encrypted under, with
-- row counts (current versions, history and tombstones) over every
-- household the caller sees. Never shows key material.
CREATE FUNCTION secrets.key_status()
RETURNS TABLE (key_version bigint, active boolean, loaded boolean, rows bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH used AS (
    SELECT u.v, sum(u.n)::bigint AS n FROM (
      SELECT secrets.ciphertext_key_version(s.value) AS v, count(*) AS n
        FROM secrets.secrets s GROUP BY 1
      UNION ALL
      SELECT secrets.ciphertext_key_version(h.value), count(*)
        FROM secrets.secret_versions h GROUP BY 1) u
     GROUP BY u.v
  ), loaded AS (
    SELECT l.key_version AS v, l.active FROM secrets.loaded_key_versions() l
  )
  SELECT coalesce(l.v, u.v), coalesce(l.active, false), l.v IS NOT NULL, coalesce(u.n, 0)
    FROM loaded l FULL JOIN used u ON u.v = l.v
   ORDER BY 1
$$;

-- A rotation's progress in one row: values already under the active key,
-- values still to rewrap, and values under versions that are not loaded
-- (which rotate() cannot open).
CREATE FUNCTION secrets.rotation_status()
RETURNS TABLE (active_key_version bigint, rows_total bigint, rows_on_active bigint,
               rows_to_rewrap bigint, rows_unreadable bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT max(k.key_version) FILTER (WHERE k.active),
         coalesce(sum(k.rows), 0)::bigint,
         coalesce(sum(k.rows) FILTER (WHERE k.active), 0)::bigint,
         coalesce(sum(k.rows) FILTER (WHERE k.loaded AND NOT k.active), 0)::bigint,
         coalesce(sum(k.rows) FILTER (WHERE NOT k.loaded), 0)::bigint
    FROM secrets.key_status() k
$$;

-- The newest entry of each household's audit chain.
CREATE FUNCTION secrets.audit_heads()
RETURNS TABLE (household_id uuid, seq bigint, chain_key_version bigint, link bytea, mac bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT ON (a.household_id) a.household_id, a.seq, a.chain_key_version, a.link, a.mac
    FROM secrets.audit_log a ORDER BY a.household_id, a.seq DESC
$$;

-- Appends an entry under the active key to every chain whose newest entry
-- is under another, loaded key version and verifies, so that retiring that
-- version leaves every chain's head checkable (verify_audit_chain()
-- requires it). A head that does not verify is left alone, never vouched
-- for. Superusers only; rotate() calls it when a rotation is complete.
-- Returns how many chains it resealed.
CREATE FUNCTION secrets.audit_reseal() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  active_version bigint;
  h record;
  n bigint := 0;
BEGIN
  PERFORM secrets.require_superuser('secrets.audit_reseal()');
  SELECT l.key_version INTO active_version FROM secrets.loaded_key_versions() l WHERE l.active;
  IF active_version IS NULL THEN
    RETURN 0;
  END IF;
  FOR h IN SELECT * FROM secrets.audit_heads() x
            WHERE x.chain_key_version <> active_version
              AND secrets.audit_mac(x.chain_key_version, x.household_id, x.link) = x.mac LOOP
    PERFORM secrets.audit_write(h.household_id, 'rotate', NULL, NULL, NULL, NULL,
                                jsonb_build_object('audit_reseal', true, 'from_key_version', h.chain_key_version,
                                                   'to_key_version', active_version));
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

CREATE FUNCTION secrets.require_superuser(what text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('permission denied: %s is for superusers only', what);
  END IF;
END $$;

-- One rotation batch: rewraps up to batch_size values (current versions
-- first, then history) that are under a loaded, non-active key version to
-- the active one, in the caller's transaction, and returns how many it
-- rewrapped (0 when done). Superusers only. Callers loop, or use
-- CALL secrets.rotate_all().
--
-- It walks each table in block ranges from secrets.rotation_cursor (a TID
-- range scan: each batch reads only its own pages, and no index has to be
-- kept on the key version, so rewraps are HOT updates). Rows another
-- transaction holds are skipped, not waited for, so a writer never waits
-- for more than one batch and the rotation never deadlocks with one. When a
-- walk reaches the end of a table, one sequential check decides: rows still
-- under an old version (skipped, or moved behind the cursor by an update)
-- start another walk; none means that table is done. Re-running after a
-- crash resumes at the last committed batch.
CREATE FUNCTION secrets.rotate(batch_size integer DEFAULT 1000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off AS $$
DECLARE
  active_version bigint;
  old_versions bigint[];
  block_bytes bigint := current_setting('block_size')::bigint;
  tbl text;
  cursor_block bigint;
  table_blocks bigint;
  rows_per_block double precision;
  step bigint;
  walked bigint;
  left_over boolean;
  n bigint;
  m bigint;
  n_current bigint := 0;
  n_history bigint := 0;
  n_households bigint := 0;
BEGIN
  PERFORM secrets.require_superuser('secrets.rotate()');
  IF batch_size IS NULL OR batch_size < 1 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'batch_size must be at least 1';
  END IF;
  SELECT l.key_version INTO active_version FROM secrets.loaded_key_versions() l WHERE l.active;
  IF active_version IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SE002', MESSAGE = 'no active pgsecrets root key is loaded';
  END IF;
  old_versions := ARRAY(SELECT l.key_version FROM secrets.loaded_key_versions() l WHERE NOT l.active);
  IF cardinality(old_versions) = 0 THEN
    RETURN 0;
  END IF;

  FOREACH tbl IN ARRAY ARRAY['secrets', 'secret_versions'] LOOP
    -- One rotator at a time per table; a second one waits here, then walks on.
    SELECT c.next_block INTO cursor_block FROM secrets.rotation_cursor c WHERE c.relname = tbl FOR UPDATE;
    SELECT CASE WHEN c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages ELSE 50 END
      INTO rows_per_block FROM pg_catalog.pg_class c WHERE c.oid = ('secrets.' || tbl)::regclass;
    step := greatest(1, ceil((batch_size - n_current - n_history) / rows_per_block))::bigint;
    table_blocks := pg_catalog.pg_relation_size(('secrets.' || tbl)::regclass) / block_bytes;
    walked := 0;
    WHILE n_current + n_history < batch_size LOOP
      IF cursor_block >= table_blocks THEN
        -- The end of a walk: done with this table unless a row still needs it.
        EXECUTE format('SELECT EXISTS (SELECT FROM secrets.%I t'
                       ' WHERE secrets.ciphertext_key_version(t.value) = ANY ($1))', tbl)
          INTO STRICT left_over USING old_versions;
        cursor_block := 0;
        EXIT WHEN NOT left_over OR walked >= table_blocks;  -- never two whole walks in one call
      END IF;
      EXECUTE format(
        'WITH picked AS ('
        '  SELECT t.ctid AS row_id FROM secrets.%1$I t'
        '   WHERE t.ctid >= format(''(%%s,0)'', $2::bigint)::tid'
        '     AND t.ctid < format(''(%%s,0)'', $2::bigint + $3)::tid'
        '     AND secrets.ciphertext_key_version(t.value) = ANY ($1)'
        '     FOR UPDATE SKIP LOCKED'
        '), done AS ('
        '  UPDATE secrets.%1$I t'
        '     SET value = secrets.rewrap(t.value, t.household_id,'
        '                                secrets.secret_context(t.scope, t.node_id, t.key))'
        '    FROM picked p WHERE t.ctid = p.row_id'
        '  RETURNING t.household_id'
        ') SELECT count(*), count(DISTINCT d.household_id) FROM done d', tbl)
        INTO STRICT n, m USING old_versions, cursor_block, step;
      cursor_block := cursor_block + step;
      walked := walked + step;
      n_households := n_households + m;
      IF tbl = 'secrets' THEN n_current := n_current + n; ELSE n_history := n_history + n; END IF;
    END LOOP;
    UPDATE secrets.rotation_cursor c SET next_block = cursor_block WHERE c.relname = tbl;
    EXIT WHEN n_current + n_history >= batch_size;
  END LOOP;

  IF n_current + n_history > 0 THEN
    PERFORM secrets.audit_write('00000000-0000-0000-0000-000000000000', 'rotate', NULL, NULL, NULL, NULL,
                                jsonb_build_object('to_key_version', active_version,
                                                   'from_key_versions', to_jsonb(old_versions),
                                                   'rows', n_current, 'history_rows', n_history,
                                                   'households', n_households));
  ELSIF coalesce((SELECT r.rows_to_rewrap FROM secrets.rotation_status() r), 0) = 0 THEN
    -- The rotation is complete: move every audit chain's head to the active
    -- key, so the old version can be retired (see audit_reseal()).
    PERFORM secrets.audit_reseal();
  END IF;
  RETURN n_current + n_history;
END $$;

-- The whole rotation, committing after every batch: CALL secrets.rotate_all();
-- Resumable: after an interruption, CALL it again. Returns the rows rewrapped.
CREATE PROCEDURE secrets.rotate_all(batch_size integer DEFAULT 10000, INOUT rewrapped bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  idle_rounds integer := 0;
  left_over bigint;
BEGIN
  rewrapped := 0;
  LOOP
    n := secrets.rotate(batch_size);
    rewrapped := rewrapped + n;
    COMMIT;
    IF n > 0 THEN
      idle_rounds := 0;
      CONTINUE;
    END IF;
    -- rotate() found nothing it could take: done, unless rows it skipped
    -- (held by other transactions) are still under an old version.
    SELECT r.rows_to_rewrap INTO left_over FROM secrets.rotation_status() r;
    EXIT WHEN coalesce(left_over, 0) = 0;
    idle_rounds := idle_rounds + 1;
    IF idle_rounds > 50 THEN
      RAISE WARNING '% values are still under an old key version and held by other transactions; run secrets.rotate_all() again', left_over;
      EXIT;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;

-- Whether a root key version may be removed from the key file: no current
-- value, kept version or tombstone may use it, and it must not be active.
-- Audit entries chained under it stay verifiable through the links of the
-- entries after them, so no chain may end in one (rotate() reseals such
-- chains when it finishes: secrets.audit_reseal()). Only reports; removing
-- the line is the operator's job.
CREATE FUNCTION secrets.retire_key(version bigint)
RETURNS TABLE (key_version bigint, active boolean, loaded boolean, secret_rows bigint,
               history_rows bigint, audit_entries bigint, retirable boolean, message text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  is_active boolean;
  is_loaded boolean;
  n_current bigint;
  n_history bigint;
  n_audit bigint;
  n_heads bigint;
BEGIN
  PERFORM secrets.require_superuser('secrets.retire_key()');
  SELECT l.active INTO is_active FROM secrets.loaded_key_versions() l WHERE l.key_version = version;
  is_loaded := FOUND;
  SELECT count(*) INTO n_current FROM secrets.secrets s WHERE secrets.ciphertext_key_version(s.value) = version;
  SELECT count(*) INTO n_history FROM secrets.secret_versions v WHERE secrets.ciphertext_key_version(v.value) = version;
  SELECT count(*) INTO n_audit FROM secrets.audit_log a WHERE a.chain_key_version = version;
  SELECT count(*) INTO n_heads FROM secrets.audit_heads() h WHERE h.chain_key_version = version;
  RETURN QUERY SELECT version, coalesce(is_active, false), is_loaded, n_current, n_history, n_audit,
    NOT coalesce(is_active, false) AND n_current + n_history = 0 AND n_heads = 0,
    CASE
      WHEN is_active THEN format('key version %s is the active key; activate another version and rotate first', version)
      WHEN n_current + n_history > 0 THEN format('%s values still use key version %s; run CALL secrets.rotate_all() first',
                                                  n_current + n_history, version)
      WHEN n_heads > 0 THEN format('%s audit chains end in an entry under key version %s; run SELECT secrets.audit_reseal() first',
                                   n_heads, version)
      ELSE format('no value uses key version %s: remove its line from the key file and reload', version)
    END;
END $$;

-- ---------------------------------------------------------------- audit trail
-- The retention purge's work; only effective when called by
-- secrets.purge_audit_log(), the one caller the append-only guard lets
-- delete. Keeps each household's newest entry and records where the kept
-- chain starts in an 'audit_purge' entry.
CREATE FUNCTION secrets.audit_purge_rows(before timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid;
  head bigint;
  cut bigint;
  prev bytea;
  n bigint;
  total bigint := 0;
BEGIN
  PERFORM secrets.require_superuser('secrets.purge_audit_log()');
  FOR h IN SELECT DISTINCT a.household_id FROM secrets.audit_log a WHERE a.at < before ORDER BY 1 LOOP
    PERFORM secrets.lock_household(h);
    SELECT max(a.seq) INTO head FROM secrets.audit_log a WHERE a.household_id = h;
    SELECT least(coalesce(min(a.seq), head), head) INTO cut
      FROM secrets.audit_log a WHERE a.household_id = h AND a.at >= before;
    SELECT a.link INTO prev FROM secrets.audit_log a WHERE a.household_id = h AND a.seq = cut - 1;
    DELETE FROM secrets.audit_log a WHERE a.household_id = h AND a.seq < cut;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
      total := total + n;
      PERFORM secrets.audit_write(h, 'audit_purge', NULL, NULL, NULL, NULL,
                                  jsonb_build_object('before', before, 'entries', n, 'kept_from_seq', cut,
                                                     'kept_prev_link', encode(prev, 'hex')));
    END IF;
  END LOOP;
  RETURN total;
END $$;

-- Checks every household's chain (or one household's) and reports the first
-- broken entry of each broken chain; no row means every chain is intact.
-- Entries under a key version that is not loaded are covered by the links
-- of the entries after them, so the newest entry of a chain must be under a
-- loaded version: otherwise nothing vouches for it (a forged head entry
-- naming a key version that does not exist would verify). Household admins
-- may check their own household.
CREATE FUNCTION secrets.verify_audit_chain(household uuid DEFAULT NULL)
RETURNS TABLE (household_id uuid, id bigint, seq bigint, reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  only_household uuid := household;
BEGIN
  IF secrets.current_privilege() <> 'admin' THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = 'permission denied: checking the audit chain needs admin access to the household';
  END IF;
  IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = secrets.current_db_role()), false) THEN
    only_household := secrets.require_household();   -- admins check their own household only
  END IF;
  RETURN QUERY
  WITH chain AS (
    SELECT a AS e, lag(a.link) OVER w AS prev_link, lag(a.seq) OVER w AS prev_seq,
           lead(a.seq) OVER w IS NULL AS is_head
      FROM secrets.audit_log a
     WHERE only_household IS NULL OR a.household_id = only_household
    WINDOW w AS (PARTITION BY a.household_id ORDER BY a.seq)
  ), anchored AS (
    SELECT c.*,
           CASE WHEN c.prev_seq IS NOT NULL THEN c.prev_link
                WHEN (c.e).seq = 1 THEN '\x'::bytea
                ELSE (SELECT decode(p.detail ->> 'kept_prev_link', 'hex')
                        FROM secrets.audit_log p
                       WHERE p.household_id = (c.e).household_id AND p.action = 'audit_purge'
                         AND (p.detail ->> 'kept_from_seq')::bigint = (c.e).seq
                       ORDER BY p.seq DESC LIMIT 1)
           END AS expected_prev
      FROM chain c
  ), checked AS (
    SELECT (x.e).household_id AS h, (x.e).id AS i, (x.e).seq AS s,
           CASE
             WHEN x.prev_seq IS NOT NULL AND (x.e).seq <> x.prev_seq + 1 THEN
               CASE WHEN (x.e).seq = x.prev_seq + 2 THEN format('entry %s is missing', x.prev_seq + 1)
                    ELSE format('entries %s to %s are missing', x.prev_seq + 1, (x.e).seq - 1) END
             WHEN x.expected_prev IS NULL THEN
               format('entries before %s are missing and no audit_purge entry records their removal', (x.e).seq)
             WHEN (x.e).link IS DISTINCT FROM sha256(x.expected_prev || secrets.audit_message(x.e)) THEN
               'entry was changed: its contents no longer match its link'
             WHEN secrets.audit_mac((x.e).chain_key_version, (x.e).household_id, (x.e).link) <> (x.e).mac THEN
               'entry was rewritten: its MAC does not verify'
             WHEN x.is_head AND secrets.audit_mac((x.e).chain_key_version, (x.e).household_id, (x.e).link) IS NULL THEN
               format('the newest entry cannot be checked: root key version %s is not loaded', (x.e).chain_key_version)
           END AS why
      FROM anchored x
  )
  SELECT DISTINCT ON (k.h) k.h, k.i, k.s, k.why
    FROM checked k WHERE k.why IS NOT NULL
   ORDER BY k.h, k.s;
END $$;

-- Who did what to which secret: the audit trail with names resolved to
-- households, keys and versions. No values.
CREATE VIEW secrets.audit_trail WITH (security_barrier) AS
SELECT a.id, a.household_id, a.seq, a.at, a.action, a.scope, a.node_id, a.key, a.version,
       a.actor, a.db_role, a.login_role, a.detail
  FROM secrets.audit_log a;
ALTER VIEW secrets.audit_trail OWNER TO pgsecrets_owner;

-- Per household and secret: who created it, who changed, deleted or read it
-- last, and how often.
CREATE VIEW secrets.audit_by_key WITH (security_barrier) AS
SELECT a.household_id, a.scope, a.node_id, a.key,
       min(a.at) FILTER (WHERE a.action = 'create') AS created_at,
       (array_agg(a.actor ORDER BY a.seq) FILTER (WHERE a.action = 'create'))[1] AS created_by,
       max(a.at) FILTER (WHERE a.action <> 'read') AS last_changed_at,
       (array_agg(a.actor ORDER BY a.seq DESC) FILTER (WHERE a.action <> 'read'))[1] AS last_changed_by,
       (array_agg(a.action ORDER BY a.seq DESC) FILTER (WHERE a.action <> 'read'))[1] AS last_change,
       max(a.version) AS last_version,
       count(*) FILTER (WHERE a.action IN ('update', 'rollback')) AS changes,
       count(*) FILTER (WHERE a.action = 'read') AS reads,
       max(a.at) FILTER (WHERE a.action = 'read') AS last_read_at,
       (array_agg(a.actor ORDER BY a.seq DESC) FILTER (WHERE a.action = 'read'))[1] AS last_read_by,
       array_agg(DISTINCT a.actor ORDER BY a.actor) AS actors
  FROM secrets.audit_log a
 WHERE a.key IS NOT NULL
 GROUP BY a.household_id, a.scope, a.node_id, a.key;
ALTER VIEW secrets.audit_by_key OWNER TO pgsecrets_owner;

-- Per household and actor: what each one did, and when first and last.
CREATE VIEW secrets.audit_by_actor WITH (security_barrier) AS
SELECT a.household_id, a.actor, a.db_role, a.action, count(*) AS entries,
       min(a.at) AS first_at, max(a.at) AS last_at
  FROM secrets.audit_log a
 GROUP BY a.household_id, a.actor, a.db_role, a.action;
ALTER VIEW secrets.audit_by_actor OWNER TO pgsecrets_owner;

-- Every version kept of every secret, with who wrote it and how (metadata only).
CREATE VIEW secrets.secret_history_view WITH (security_barrier) AS
WITH versions AS (
  SELECT s.household_id, s.key, s.scope, s.node_id, s.version, true AS is_current, s.deleted_at,
         s.value_type, s.has_value, secrets.ciphertext_key_version(s.value) AS key_version,
         s.updated_at AS written_at, s.updated_by AS written_by
    FROM secrets.secrets s
  UNION ALL
  SELECT v.household_id, v.key, v.scope, v.node_id, v.version, false, NULL,
         v.value_type, v.has_value, secrets.ciphertext_key_version(v.value),
         v.written_at, v.written_by
    FROM secrets.secret_versions v
)
SELECT x.*, w.action AS written_by_action, w.db_role AS written_by_role
  FROM versions x
  LEFT JOIN LATERAL (
    SELECT a.action, a.db_role FROM secrets.audit_log a
     WHERE a.household_id = x.household_id AND a.key = x.key AND a.scope = x.scope
       AND a.node_id IS NOT DISTINCT FROM x.node_id AND a.version = x.version
       AND a.action IN ('create', 'update', 'rollback')
     ORDER BY a.seq DESC LIMIT 1) w ON true;
ALTER VIEW secrets.secret_history_view OWNER TO pgsecrets_owner;

-- ---------------------------------------------------------------- privileges
REVOKE ALL ON ALL ROUTINES IN SCHEMA secrets FROM PUBLIC;
REVOKE ALL ON secrets.secrets, secrets.household_grants, secrets.secret_versions,
              secrets.household_settings, secrets.audit_log FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON secrets.secrets TO pgsecrets_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON secrets.secret_versions TO pgsecrets_owner;
GRANT SELECT, INSERT, UPDATE ON secrets.household_settings TO pgsecrets_owner;
GRANT SELECT ON secrets.household_grants TO pgsecrets_owner;
-- The audit log: appended to by the API, never changed (the triggers refuse
-- it for every role; these revokes are the first line).
REVOKE UPDATE, DELETE, TRUNCATE ON secrets.audit_log FROM pgsecrets_owner;
GRANT SELECT, INSERT ON secrets.audit_log TO pgsecrets_owner;

GRANT SELECT ON secrets.secrets TO pgsecrets_user;       -- metadata and ciphertext; RLS applies
GRANT SELECT ON secrets.secret_versions TO pgsecrets_user;
GRANT SELECT ON secrets.household_settings TO pgsecrets_user;
GRANT SELECT ON secrets.audit_log TO pgsecrets_user;     -- RLS: household admins only
GRANT SELECT ON secrets.decrypted_secrets TO pgsecrets_user;
GRANT SELECT ON secrets.audit_trail, secrets.audit_by_key, secrets.audit_by_actor,
                secrets.secret_history_view TO pgsecrets_user;

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
  secrets.current_db_role(),
  secrets.row_visible(uuid, text, text, int),
  secrets.secret_context(text, text, text),
  secrets.metadata_of(secrets.secrets),
  secrets.require_household(),
  secrets.require_privilege(text),
  secrets.check_key(text),
  secrets.check_scope(text, text),
  secrets.normalize_value(text, text),
  secrets.settings_for(uuid),
  secrets.check_expected_version(integer, secrets.secrets),
  secrets.audit_message(secrets.audit_log),
  secrets.audit_read(uuid, text, text, text, integer),
  secrets.set_secret(text, text, text, text, text, text, integer),
  secrets.create_secret(text, text, text, text, text, text),
  secrets.update_secret(text, text, text, text, text, integer),
  secrets.get_secret(text, text, text, integer),
  secrets.get_secret_int(text, text, text),
  secrets.get_secret_bool(text, text, text),
  secrets.delete_secret(text, text, text, integer),
  secrets.restore_secret(text, text, text),
  secrets.purge_secret(text, text, text),
  secrets.purge_expired_secrets(),
  secrets.list_secret_versions(text, text, text),
  secrets.rollback_secret(text, text, integer, text, integer),
  secrets.ensure_secret_exists(text, text, text, text, text, text, boolean, boolean),
  secrets.seed_secrets(jsonb),
  secrets.list_secrets(text, boolean),
  secrets.current_household_settings(),
  secrets.configure_household(integer, boolean, interval),
  secrets.verify_audit_chain(uuid)
TO pgsecrets_user;
GRANT EXECUTE ON FUNCTION secrets.key_status(), secrets.rotation_status(), secrets.loaded_key_versions()
TO pgsecrets_gateway;
-- Internal to the API (which runs as pgsecrets_owner).
GRANT EXECUTE ON FUNCTION
  secrets.lock_household(uuid),
  secrets.audit_write(uuid, text, text, text, text, integer, jsonb),
  secrets.audit_mac(bigint, uuid, bytea),
  secrets.loaded_key_versions()
TO pgsecrets_owner;
-- Superusers only (no grant): rewrap, rotate, rotate_all, retire_key,
-- purge_audit_log, audit_purge_rows, grant_household, revoke_household.

ALTER FUNCTION secrets.set_secret(text, text, text, text, text, text, integer) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.create_secret(text, text, text, text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.update_secret(text, text, text, text, text, integer) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.get_secret(text, text, text, integer) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.delete_secret(text, text, text, integer) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.restore_secret(text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.purge_secret(text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.purge_expired_secrets() OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.list_secret_versions(text, text, text) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.rollback_secret(text, text, integer, text, integer) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.ensure_secret_exists(text, text, text, text, text, text, boolean, boolean) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.list_secrets(text, boolean) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.current_household_settings() OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.configure_household(integer, boolean, interval) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.verify_audit_chain(uuid) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.audit_write(uuid, text, text, text, text, integer, jsonb) OWNER TO pgsecrets_owner;
ALTER FUNCTION secrets.keep_previous_version() OWNER TO pgsecrets_owner;
