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
--   set_context(household, actor, node_id)        the household of one transaction
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
-- Everything else (the tables secrets, secret_versions, household_settings,
-- household_grants, audit_log, key_fingerprints, rotation_cursor, the views,
-- the helper functions) is internal to the extension or meant for DBAs.

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
  h uuid := secrets.require_household();
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
