-- pgsecrets 0.2.0 -> 0.3.0: the service API, the only way secretsd reaches
-- secrets. Not released yet: later changes of 0.3.0 go into this script.
-- Released scripts never change: every later change is a new upgrade script.
\echo Use "ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'" to load this file. \quit

-- ---------------------------------------------------------------- service API
-- secretsd (a login role that is a member of pgsecrets_gateway) calls these
-- functions and nothing else of schema secrets: it reads and writes no table
-- or view of the extension, so the tables, their policies and the audit
-- rules can change behind the API. secretsd checks at start that the
-- installed version is at least the one it was built for (0.3.0, same major
-- version) and refuses to start otherwise.
--
--   set_context(household, actor, node_id [, role, key_prefix])
--                                                 the household of one transaction, with the
--                                                 privilege of the person's household role and,
--                                                 for a scoped app, its key prefix (role: 0.3.0)
--   check_key(key), check_scope(scope, node_id)   the name rules (marked 400s)
--   read_secret(key, scope, node_id, version)     metadata and value, read-audited (0.3.0)
--   get_secret(key, scope, node_id, version)      a value, read-audited
--   list_secrets(scope, include_deleted)          metadata only
--   list_secret_versions(key, scope, node_id)     kept versions, metadata only
--   set_secret, create_secret, update_secret,
--   delete_secret, restore_secret, purge_secret,
--   rollback_secret                               writes (audited)
--   change_events(after_id, max_events),
--   change_event_kept(event_id)                   the change stream's replay
--   key_status()                                  readiness: an active root key is loaded
--   audit_entries(actor, key, action, since, until, before_seq, max_rows)
--                                                 the household's audit trail, newest first (0.3.0)
--   verify_audit_chain()                          the chain's verification status (audit or admin)
--   decrypt_secret(ciphertext, household, context) only secretsd's migration 0005, which moved
--                                                 values secretsd had encrypted itself into the store
--
-- A function called with a privilege that does not allow it raises SQLSTATE
-- SE009 (values need read, write or admin; changes write or admin; purge
-- and settings admin; the audit trail audit or admin; metadata is open to
-- all four): see "Household roles" below.
--
-- Everything else (the tables secrets, secret_versions, household_settings,
-- household_grants, audit_log, key_fingerprints, rotation_cursor, the views,
-- the helper functions) is internal to the extension or meant for DBAs.

-- ---------------------------------------------------------------- household roles
-- Privileges (the grant vocabulary of grant_household, and what a gateway
-- context holds):
--   read   metadata and values
--   audit  metadata and the audit trail, never a value
--   write  metadata, values, create/change/delete/restore/rollback
--   admin  everything: also purge, household settings, the audit trail
-- secretsd passes the person's household role to set_context; the one
-- mapping (in the library, context.c): owner -> admin, admin -> admin,
-- writer -> write, reader -> read, auditor -> audit. The 3-argument
-- set_context of 0.2.0 stays an admin's context (a node's: write), so
-- every grant and every caller of 0.2.0 keeps what it could do.
-- A refusal is SQLSTATE SE009 ("permission denied: role "reader" may not
-- change secrets"); another household stays 42501, no household SE003.
CREATE FUNCTION secrets.set_context(household uuid, actor text, node_id text, role text,
                                    key_prefix text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'pgsecrets_set_context'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION secrets.set_context(uuid, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.set_context(uuid, text, text, text, text) TO pgsecrets_user;

-- The privilege check of every function of the API, now in the library
-- (it knows which capabilities each privilege has): 'read' needs values,
-- 'audit' the audit trail, 'write' changes, 'admin' administration; SE009
-- otherwise. With a key (the key a function writes): SE009 too when a
-- scoped app's key prefix does not cover it, whether or not it exists.
CREATE OR REPLACE FUNCTION secrets.require_privilege(needed text) RETURNS uuid
AS 'MODULE_PATHNAME', 'pgsecrets_require_privilege'
LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION secrets.require_privilege(needed text, key text) RETURNS uuid
AS 'MODULE_PATHNAME', 'pgsecrets_require_privilege'
LANGUAGE C STABLE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.require_privilege(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.require_privilege(text, text) TO pgsecrets_user;

-- Whether a scoped app's key prefix covers key (true without a prefix).
CREATE FUNCTION secrets.key_in_prefix(key text) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgsecrets_key_in_prefix'
LANGUAGE C STABLE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.key_in_prefix(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.key_in_prefix(text) TO pgsecrets_user;

-- row_visible with the row's key: a scoped app sees only its prefix.
-- min_privilege: 1 metadata, 2 write, 3 admin, 4 audit trail, 5 values.
CREATE FUNCTION secrets.row_visible(household_id uuid, scope text, node_id text, key text,
                                    min_privilege int)
RETURNS boolean AS 'MODULE_PATHNAME', 'pgsecrets_row_visible'
LANGUAGE C STABLE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.row_visible(uuid, text, text, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.row_visible(uuid, text, text, text, int) TO pgsecrets_user;

-- Database roles get the same vocabulary: 'audit' joins read, write, admin.
ALTER TABLE secrets.household_grants DROP CONSTRAINT household_grants_privilege_check;
ALTER TABLE secrets.household_grants ADD CONSTRAINT household_grants_privilege_check
  CHECK (privilege IN ('read', 'write', 'audit', 'admin'));

CREATE OR REPLACE FUNCTION secrets.grant_household(role name, household_id uuid, privilege text DEFAULT 'read')
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
  grantee_oid oid;
BEGIN
  IF privilege IS NULL OR privilege NOT IN ('read', 'write', 'audit', 'admin') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'privilege must be "read", "write", "audit" or "admin"';
  END IF;
  IF household_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'household_id must not be null';
  END IF;
  SELECT r.oid INTO grantee_oid FROM pg_catalog.pg_roles r WHERE r.rolname = role;
  IF grantee_oid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', role);
  END IF;
  PERFORM secrets.lock_household(household_id);
  INSERT INTO secrets.household_grants AS g (household_id, grantee, privilege)
  VALUES (household_id, grantee_oid::regrole, privilege)
  ON CONFLICT ON CONSTRAINT household_grants_pkey DO UPDATE
     SET privilege = EXCLUDED.privilege, granted_at = now(), granted_by = current_user;
  IF NOT pg_catalog.pg_has_role(role, 'pgsecrets_user', 'MEMBER') THEN
    EXECUTE format('GRANT pgsecrets_user TO %I', role);
  END IF;
  PERFORM secrets.audit_write(household_id, 'grant', NULL, NULL, NULL, NULL,
                              jsonb_build_object('role', role, 'privilege', privilege));
END $$;

-- Household admins and auditors read their household's audit trail
-- (secrets.audit_trail and the audit views); the API (as pgsecrets_owner)
-- reads the chain head of the household it writes for.
ALTER POLICY audit_log_select ON secrets.audit_log
  USING (secrets.row_visible(household_id, NULL, NULL,
                             CASE WHEN current_user = 'pgsecrets_owner' THEN 1 ELSE 4 END));

-- A value needs read, write or admin: an auditor sees no value.
CREATE OR REPLACE FUNCTION secrets.get_secret(key text, scope text, node_id text DEFAULT NULL,
                                   version integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('read');
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

-- ---------------------------------------------------------------- read_secret
-- One secret in one call: the metadata columns of secret_metadata for the
-- version read, then its value.
CREATE TYPE secrets.secret_with_value AS (
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
  deleted_by    text,
  value         text
);

-- A live secret's metadata and value, of the current version or of a kept
-- earlier one (version => n), read from one row so that the metadata and
-- the value always belong to the same version. For an earlier version,
-- value_type, has_value, version, key_version, updated_at and updated_by are
-- that version's (updated_* = when and by whom it was written). No row when
-- there is no such secret or version. The key and scope rules apply first
-- (as in every writing function); the read is audited like get_secret's,
-- and row-level security applies as to every function of the API.
CREATE FUNCTION secrets.read_secret(key text, scope text, node_id text DEFAULT NULL,
                                    version integer DEFAULT NULL)
RETURNS SETOF secrets.secret_with_value
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('read');
  cur secrets.secrets;
  old secrets.secret_versions;
  m secrets.secret_metadata;
  clear text;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id AND s.deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  m := secrets.metadata_of(cur);
  IF version IS NULL OR version = cur.version THEN
    clear := secrets.decrypt_secret(cur.value, h, secrets.secret_context(cur.scope, cur.node_id, cur.key));
  ELSE
    SELECT v.* INTO old FROM secrets.secret_versions v
     WHERE v.household_id = h AND v.secret_id = cur.id AND v.version = version;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    clear := secrets.decrypt_secret(old.value, h, secrets.secret_context(old.scope, old.node_id, old.key));
    m.value_type := old.value_type;
    m.has_value := old.has_value;
    m.version := old.version;
    m.key_version := secrets.ciphertext_key_version(old.value);
    m.updated_at := old.written_at;
    m.updated_by := old.written_by;
  END IF;
  PERFORM secrets.audit_read(h, cur.scope, cur.node_id, cur.key, m.version);
  RETURN QUERY SELECT (m).*, clear;
END $$;
ALTER FUNCTION secrets.read_secret(text, text, text, integer) OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.read_secret(text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.read_secret(text, text, text, integer) TO pgsecrets_user;

-- ---------------------------------------------------------------- key prefix (scoped apps)
-- A gateway context with a key prefix (an app whose grant names one) sees
-- only the keys that start with it: the policies of secrets and
-- secret_versions test the row's key, so reads find no row (secretsd: 404)
-- and lists omit the rest. Every function that writes a key asks
-- require_privilege(needed, key) first, so a write outside the prefix is
-- SE009 from the name alone, whether or not the key exists.
ALTER POLICY secrets_select ON secrets.secrets
  USING (secrets.row_visible(household_id, scope, node_id, key, 1)
         AND (deleted_at IS NULL OR current_user = 'pgsecrets_owner'));
ALTER POLICY secrets_insert ON secrets.secrets
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, key, 2));
ALTER POLICY secrets_update ON secrets.secrets
  USING (secrets.row_visible(household_id, scope, node_id, key, 2))
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, key, 2));
ALTER POLICY secrets_delete ON secrets.secrets
  USING (secrets.row_visible(household_id, scope, node_id, key, 2));
ALTER POLICY secret_versions_select ON secrets.secret_versions
  USING (secrets.row_visible(household_id, scope, node_id, key, 1)
         AND (current_user = 'pgsecrets_owner'
              OR EXISTS (SELECT 1 FROM secrets.secrets s
                          WHERE s.household_id = secret_versions.household_id
                            AND s.id = secret_versions.secret_id AND s.deleted_at IS NULL)));
ALTER POLICY secret_versions_insert ON secrets.secret_versions
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, key, 2));
ALTER POLICY secret_versions_update ON secrets.secret_versions
  USING (secrets.row_visible(household_id, scope, node_id, key, 2))
  WITH CHECK (secrets.row_visible(household_id, scope, node_id, key, 2));
ALTER POLICY secret_versions_delete ON secrets.secret_versions
  USING (secrets.row_visible(household_id, scope, node_id, key, 2));

-- The writing functions of 0.1.0 and 0.2.0, unchanged but for their first
-- line: the privilege check now names the key written.
CREATE OR REPLACE FUNCTION secrets.set_secret(key text, value text, scope text,
                                   value_type text DEFAULT 'string',
                                   node_id text DEFAULT NULL,
                                   description text DEFAULT NULL,
                                   expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
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
CREATE OR REPLACE FUNCTION secrets.create_secret(key text, value text,
                                      scope text DEFAULT 'integration',
                                      value_type text DEFAULT 'string',
                                      node_id text DEFAULT NULL,
                                      description text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
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
CREATE OR REPLACE FUNCTION secrets.update_secret(key text,
                                      scope text DEFAULT 'integration',
                                      node_id text DEFAULT NULL,
                                      value text DEFAULT NULL,
                                      description text DEFAULT NULL,
                                      expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
  cur secrets.secrets;
  v text;
  written secrets.secrets;
BEGIN
  PERFORM secrets.check_key(key);
  PERFORM secrets.check_scope(scope, node_id);
  cur := secrets.lock_live_secret(h, key, scope, node_id, expected_version);
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
CREATE OR REPLACE FUNCTION secrets.delete_secret(key text, scope text, node_id text DEFAULT NULL,
                                      expected_version integer DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
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
CREATE OR REPLACE FUNCTION secrets.restore_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
  cur secrets.secrets;
  retention interval := (secrets.settings_for(h)).delete_retention;
  written secrets.secrets;
BEGIN
  cur := secrets.lock_secret_row(h, key, scope, node_id);
  IF cur.id IS NULL OR cur.deleted_at IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('No deleted secret with key "%s"', key),
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'key';
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
CREATE OR REPLACE FUNCTION secrets.rollback_secret(key text, scope text, to_version integer,
                                        node_id text DEFAULT NULL,
                                        expected_version integer DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write', key);
  cur secrets.secrets;
  old secrets.secret_versions;
  written secrets.secrets;
BEGIN
  cur := secrets.lock_live_secret(h, key, scope, node_id, expected_version);
  IF to_version = cur.version THEN
    old := ROW(cur.household_id, cur.id, cur.version, cur.scope, cur.node_id, cur.key, cur.value,
               cur.value_type, cur.has_value, cur.updated_at, cur.updated_by, now());
  ELSE
    SELECT v.* INTO old FROM secrets.secret_versions v
     WHERE v.household_id = h AND v.secret_id = cur.id AND v.version = to_version;
    IF old.version IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'P0002',
        MESSAGE = format('Version %s of secret "%s" is not kept', to_version, key),
        HINT = 'secrets.list_secret_versions() lists the versions kept.',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'version';
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
CREATE OR REPLACE FUNCTION secrets.purge_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('admin', key);
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
CREATE OR REPLACE FUNCTION secrets.ensure_secret_exists(key text, scope text,
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
  h uuid := secrets.require_privilege('write', key);
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
-- A seed writes every key it declares: each must be inside the prefix.
CREATE OR REPLACE FUNCTION secrets.seed_rows(decls jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  n integer := 0;
  t record;
BEGIN
  PERFORM secrets.require_privilege('write', w.key) FROM secrets.seed_declarations(decls) w;
  PERFORM secrets.lock_household(h);
  -- deleted secrets that are declared again are re-created one by one (rare)
  FOR t IN
    SELECT DISTINCT ON (w.scope, w.node_id, w.key) w.*
      FROM secrets.seed_declarations(decls) w
      JOIN secrets.secrets s ON s.household_id = h AND s.key = w.key AND s.scope = w.scope
                            AND s.node_id IS NOT DISTINCT FROM w.node_id AND s.deleted_at IS NOT NULL
     ORDER BY w.scope, w.node_id, w.key, w.i
  LOOP
    IF secrets.ensure_secret_exists(t.key, t.scope, t.value_type, t.node_id, t.description,
                                    t.friendly_name, t.is_required, t.is_sensitive) THEN
      n := n + 1;
    END IF;
  END LOOP;
  WITH wanted AS (
    SELECT DISTINCT ON (w.scope, w.node_id, w.key) w.*
      FROM secrets.seed_declarations(decls) w
     WHERE NOT EXISTS (SELECT FROM secrets.secrets s
                        WHERE s.household_id = h AND s.key = w.key AND s.scope = w.scope
                          AND s.node_id IS NOT DISTINCT FROM w.node_id)
     ORDER BY w.scope, w.node_id, w.key, w.i
  ), inserted AS (
    INSERT INTO secrets.secrets AS s
           (household_id, scope, node_id, key, value, value_type, description, friendly_name,
            is_required, is_sensitive, has_value, created_by, updated_by)
    SELECT h, w.scope, w.node_id, w.key,
           secrets.encrypt_secret('', h, secrets.secret_context(w.scope, w.node_id, w.key)),
           w.value_type, w.description, w.friendly_name, w.is_required, w.is_sensitive, false, actor, actor
      FROM wanted w ORDER BY w.i
    RETURNING s.scope, s.node_id, s.key, s.version
  )
  SELECT n + secrets.audit_write_many(h, 'create', coalesce(jsonb_agg(to_jsonb(x)), '[]'))
    INTO n FROM inserted x;
  RETURN n;
END $$;
-- The change stream's replay shows a scoped app only its keys.
CREATE OR REPLACE FUNCTION secrets.change_events(after_id bigint, max_events integer)
RETURNS TABLE (id bigint, at timestamptz, event jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT a.id, a.at, secrets.change_event(a)
    FROM secrets.audit_log a
   WHERE a.household_id = secrets.require_household()
     AND a.id > after_id
     AND secrets.is_change_action(a.action)
     AND secrets.row_visible(a.household_id, a.scope, a.node_id, a.key, 1)
   ORDER BY a.id
   LIMIT greatest(max_events, 0)
$$;

-- ---------------------------------------------------------------- audit trail (service API)
-- The audit trail of the context's household for auditors and admins
-- (secretsd's GET /api/audit): newest first, each filter NULL for none;
-- since <= at < until; before_seq is the cursor (the seq of the last entry
-- of the previous page). max_rows 1..1000, else 22023. Needs the audit
-- capability (audit or admin), else SE009. A scoped app's context sees only
-- entries of its keys. No entry holds a value.
-- The page itself; its parameters are named apart from its columns (PL/pgSQL
-- cannot have both named actor): audit_entries() is the API's name for it.
CREATE FUNCTION secrets.audit_page(by_actor text, by_key text, by_action text, since timestamptz,
                                   until timestamptz, before_seq bigint, max_rows integer)
RETURNS TABLE (seq bigint, at timestamptz, actor text, action text, scope text, node_id text,
               key text, version integer, detail jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('audit');
BEGIN
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'max_rows must be between 1 and 1000',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'max_rows';
  END IF;
  RETURN QUERY
    SELECT a.seq, a.at, a.actor, a.action, a.scope, a.node_id, a.key, a.version, a.detail
      FROM secrets.audit_log a
     WHERE a.household_id = h
       AND (before_seq IS NULL OR a.seq < before_seq)
       AND (by_actor IS NULL OR a.actor = by_actor)
       AND (by_key IS NULL OR a.key = by_key)
       AND (by_action IS NULL OR a.action = by_action)
       AND (since IS NULL OR a.at >= since)
       AND (until IS NULL OR a.at < until)
       -- an entry without a key (grant, configure, ...) is the household's:
       -- '' is inside no prefix, so a scoped context does not see it
       AND secrets.key_in_prefix(coalesce(a.key, ''))
     ORDER BY a.seq DESC
     LIMIT max_rows;
END $$;
ALTER FUNCTION secrets.audit_page(text, text, text, timestamptz, timestamptz, bigint, integer)
  OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.audit_page(text, text, text, timestamptz, timestamptz, bigint, integer)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.audit_page(text, text, text, timestamptz, timestamptz, bigint, integer)
  TO pgsecrets_owner;

CREATE FUNCTION secrets.audit_entries(actor text, key text, action text, since timestamptz,
                                      until timestamptz, before_seq bigint, max_rows integer)
RETURNS TABLE (seq bigint, at timestamptz, actor text, action text, scope text, node_id text,
               key text, version integer, detail jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT * FROM secrets.audit_page(actor, key, action, since, until, before_seq, max_rows)
$$;
ALTER FUNCTION secrets.audit_entries(text, text, text, timestamptz, timestamptz, bigint, integer)
  OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.audit_entries(text, text, text, timestamptz, timestamptz, bigint, integer)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.audit_entries(text, text, text, timestamptz, timestamptz, bigint, integer)
  TO pgsecrets_user;

-- Checking the chain needs the audit capability: auditors too, not only
-- admins (SE009 otherwise).
CREATE OR REPLACE FUNCTION secrets.verify_audit_chain(household uuid DEFAULT NULL)
RETURNS TABLE (household_id uuid, id bigint, seq bigint, reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  only_household uuid := household;
BEGIN
  IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = secrets.current_db_role()), false) THEN
    only_household := secrets.require_privilege('audit');   -- their own household only
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
             WHEN (x.e).chain_key_version IN (SELECT f.key_version FROM secrets.loaded_key_fingerprints() f
                                               WHERE f.state = 'mismatch') THEN
               format('root key version %s does not match this database: the key file holds another key than the one that wrote this entry',
                      (x.e).chain_key_version)
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
