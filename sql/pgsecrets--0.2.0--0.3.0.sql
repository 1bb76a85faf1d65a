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
