-- pgsecrets 0.1.0 -> 0.2.0: safe behind connection poolers, keys that cannot
-- be mixed up, backups that restore, grants that follow the role.
-- Released scripts never change: every later change is a new upgrade script.
\echo Use "ALTER EXTENSION pgsecrets UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------- households
-- use_household() now lasts for the current transaction; a session-long
-- choice must be asked for (for_session => true). DISCARD ALL and RESET ALL
-- clear both (the library does that, whatever the schema version).
DROP FUNCTION secrets.use_household(uuid);
CREATE FUNCTION secrets.use_household(household_id uuid, for_session boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'pgsecrets_use_household'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION secrets.use_household(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.use_household(uuid, boolean) TO pgsecrets_user;

-- Grants follow the role, not its name: a renamed role keeps its grants, a
-- new role with an old name gets none. regrole is dumped as the role's name
-- and restored as whatever OID that role has in the new cluster (restore
-- the roles first). Grants of roles that no longer exist are dropped: under
-- 0.1.0 a new role of that name would have inherited them.
ALTER TABLE secrets.household_grants ADD COLUMN grantee regrole;
UPDATE secrets.household_grants g SET grantee = r.oid::regrole
  FROM pg_catalog.pg_roles r WHERE r.rolname = g.role_name;
DELETE FROM secrets.household_grants WHERE grantee IS NULL;
ALTER TABLE secrets.household_grants DROP CONSTRAINT household_grants_pkey;
ALTER TABLE secrets.household_grants DROP COLUMN role_name;
ALTER TABLE secrets.household_grants ALTER COLUMN grantee SET NOT NULL;
ALTER TABLE secrets.household_grants ADD CONSTRAINT household_grants_pkey PRIMARY KEY (household_id, grantee);

CREATE OR REPLACE FUNCTION secrets.grant_household(role name, household_id uuid, privilege text DEFAULT 'read')
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
  grantee_oid oid;
BEGIN
  IF privilege IS NULL OR privilege NOT IN ('read', 'write', 'admin') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'privilege must be "read", "write" or "admin"';
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

CREATE OR REPLACE FUNCTION secrets.revoke_household(role name, household_id uuid)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
  PERFORM secrets.lock_household(household_id);
  DELETE FROM secrets.household_grants g
   WHERE g.household_id = household_id
     AND g.grantee::oid = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = role);
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM secrets.audit_write(household_id, 'revoke', NULL, NULL, NULL, NULL,
                              jsonb_build_object('role', role));
  RETURN true;
END $$;

-- Who holds which household, by the roles' current names.
CREATE VIEW secrets.household_grants_view AS
SELECT g.household_id, g.grantee::text AS role, g.privilege, g.granted_at, g.granted_by
  FROM secrets.household_grants g;
ALTER VIEW secrets.household_grants_view OWNER TO pgsecrets_owner;
REVOKE ALL ON secrets.household_grants_view FROM PUBLIC;

-- ---------------------------------------------------------------- key fingerprints
-- The fingerprint (a one-way check value, never the key) of the key that
-- first sealed a value or an audit MAC under each version in this database.
-- The library refuses a key version whose key has another fingerprint
-- (SQLSTATE SE008) and records a version on its first seal.
CREATE TABLE secrets.key_fingerprints (
  key_version bigint PRIMARY KEY CHECK (key_version BETWEEN 1 AND 2147483647),
  fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
  recorded_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE secrets.key_fingerprints OWNER TO pgsecrets_owner;
REVOKE ALL ON secrets.key_fingerprints FROM PUBLIC;
GRANT SELECT ON secrets.key_fingerprints TO pgsecrets_user;
SELECT pg_catalog.pg_extension_config_dump('secrets.key_fingerprints', '');

CREATE FUNCTION secrets.loaded_key_fingerprints(OUT key_version bigint, OUT fingerprint text,
                                                OUT recorded_fingerprint text, OUT state text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'pgsecrets_loaded_key_fingerprints'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.loaded_key_fingerprints() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.loaded_key_fingerprints() TO pgsecrets_user, pgsecrets_owner;

-- How this session's keys relate to the server's: superusers only (the last
-- error may name the key file).
CREATE FUNCTION secrets.keyring_state(OUT preloaded boolean, OUT generation bigint,
                                      OUT session_generation bigint, OUT reloads bigint,
                                      OUT refused_reloads bigint, OUT last_reload timestamptz,
                                      OUT last_error text)
RETURNS record AS 'MODULE_PATHNAME', 'pgsecrets_keyring_state'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.keyring_state() FROM PUBLIC;

-- Records the versions in use whose loaded key is proven by what the
-- database holds: the MAC of the newest audit entry under that version, or
-- else one value that opens. A version that cannot be proven now is recorded
-- at its next seal. Called once, below, by this upgrade.
CREATE FUNCTION secrets.record_proven_key_fingerprints() RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v record;
  proven boolean;
  n integer := 0;
BEGIN
  FOR v IN SELECT f.key_version FROM secrets.loaded_key_fingerprints() f WHERE f.state = 'not recorded' LOOP
    SELECT secrets.audit_mac(a.chain_key_version, a.household_id, a.link) = a.mac INTO proven
      FROM secrets.audit_log a WHERE a.chain_key_version = v.key_version ORDER BY a.id DESC LIMIT 1;
    IF proven IS NULL AND EXISTS (SELECT FROM secrets.secrets s
                                   WHERE secrets.ciphertext_key_version(s.value) = v.key_version) THEN
      BEGIN
        PERFORM secrets.decrypt_secret(s.value, s.household_id, secrets.secret_context(s.scope, s.node_id, s.key))
           FROM secrets.secrets s
          WHERE secrets.ciphertext_key_version(s.value) = v.key_version LIMIT 1;
        proven := true;
      EXCEPTION WHEN SQLSTATE 'SE001' THEN
        proven := false;
      END;
    END IF;
    IF proven THEN
      -- a seal records the fingerprint: seal (and drop) one value under it
      -- only if it is the active version; else insert the proven one.
      INSERT INTO secrets.key_fingerprints (key_version, fingerprint)
      SELECT v.key_version, secrets.key_fingerprint_bytes(v.key_version);
      n := n + 1;
    ELSIF proven = false THEN
      RAISE WARNING 'pgsecrets: the loaded key for version % does not open the values stored under it; it is not recorded', v.key_version;
    END IF;
  END LOOP;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION secrets.record_proven_key_fingerprints() FROM PUBLIC;

CREATE FUNCTION secrets.key_fingerprint_bytes(version bigint)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgsecrets_key_fingerprint_bytes'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION secrets.key_fingerprint_bytes(bigint) FROM PUBLIC;

-- The MAC of a new audit entry: like audit_mac(), and a seal under that key
-- version (its first one records the key's fingerprint).
CREATE FUNCTION secrets.audit_seal(key_version bigint, household_id uuid, link bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgsecrets_audit_seal'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION secrets.audit_seal(bigint, uuid, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.audit_seal(bigint, uuid, bytea) TO pgsecrets_owner;

-- ---------------------------------------------------------------- change stream
-- Every change of a secret (create, update, delete, restore, rollback,
-- purge; not read, grant, revoke, ...) is announced on the channel
-- 'pgsecrets_changes' by the audit write that records it, in the same
-- transaction: a write that rolls back announces nothing. The payload is
-- {"id": <audit id>, "household": <uuid>, "action": <action>} (a batch
-- written by audit_write_many: one notification for ids "first_id".."id",
-- with "count"): the audit id is the durable id of the event, and a listener reads the event itself
-- from the audit log (secrets.change_events), under row-level security.
-- Why not the key, scope and node in the payload: any role that can connect
-- may LISTEN on any channel, and may NOTIFY on it too. A payload with keys
-- would show every household's key names to every role, bypassing RLS; and
-- a listener that trusted payloads could be fed forged events. Reading the
-- audit log by id prevents both. The payload is < 100 bytes (NOTIFY allows 8000).
CREATE FUNCTION secrets.is_change_action(action text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN action IN ('create', 'update', 'delete', 'restore', 'rollback', 'purge');

CREATE FUNCTION secrets.notify_change(a secrets.audit_log) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT pg_catalog.pg_notify('pgsecrets_changes',
           pg_catalog.json_build_object('id', a.id, 'household', a.household_id, 'action', a.action)::text)
   WHERE secrets.is_change_action(a.action);
END;

-- An audit entry as a change event (what the stream sends): metadata only,
-- `at` in UTC, ISO 8601 with microseconds.
CREATE FUNCTION secrets.change_event(a secrets.audit_log) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.jsonb_build_object(
  'key', a.key, 'scope', a.scope, 'node_id', a.node_id, 'version', a.version, 'action', a.action,
  'at', pg_catalog.to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));

CREATE OR REPLACE FUNCTION secrets.audit_write(household uuid, action text, scope text, node_id text,
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
  e.mac := secrets.audit_seal(e.chain_key_version, household, e.link);
  INSERT INTO secrets.audit_log (household_id, seq, at, actor, db_role, login_role, action,
                                 scope, node_id, key, version, detail, chain_key_version, link, mac)
  VALUES (e.household_id, e.seq, e.at, e.actor, e.db_role, e.login_role, e.action,
          e.scope, e.node_id, e.key, e.version, e.detail, e.chain_key_version, e.link, e.mac)
  RETURNING id INTO e.id;
  PERFORM secrets.notify_change(e);
END $$;

-- key_status() shows each version's fingerprint, the one this database
-- recorded, and whether they match.
DROP FUNCTION secrets.key_status();
CREATE FUNCTION secrets.key_status()
RETURNS TABLE (key_version bigint, active boolean, loaded boolean, rows bigint,
               fingerprint text, recorded_fingerprint text, fingerprint_state text)
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
    SELECT l.key_version AS v, l.active, f.fingerprint, f.recorded_fingerprint, f.state
      FROM secrets.loaded_key_versions() l
      LEFT JOIN secrets.loaded_key_fingerprints() f ON f.key_version = l.key_version
  ), recorded AS (
    SELECT k.key_version AS v, encode(substr(k.fingerprint, 1, 8), 'hex') AS fp
      FROM secrets.key_fingerprints k
  )
  -- loaded: the version's key is loaded AND is the one this database knows
  SELECT coalesce(l.v, u.v), coalesce(l.active, false),
         l.v IS NOT NULL AND coalesce(l.state, '') <> 'mismatch',
         coalesce(u.n, 0), l.fingerprint, coalesce(l.recorded_fingerprint, r.fp),
         CASE WHEN l.v IS NULL THEN 'not loaded' ELSE l.state END
    FROM loaded l FULL JOIN used u ON u.v = l.v LEFT JOIN recorded r ON r.v = coalesce(l.v, u.v)
   ORDER BY 1
$$;
REVOKE ALL ON FUNCTION secrets.key_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.key_status() TO pgsecrets_gateway;

-- A key mismatch is reported as such, not as a rewritten entry.
CREATE OR REPLACE FUNCTION secrets.verify_audit_chain(household uuid DEFAULT NULL)
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

-- ---------------------------------------------------------------- standbys
-- A read of a household with audit_reads cannot be recorded on a standby:
-- say so, instead of "cannot execute INSERT in a read-only transaction".
CREATE OR REPLACE FUNCTION secrets.audit_read(household uuid, scope text, node_id text, key text, version integer)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF (secrets.settings_for(household)).audit_reads THEN
    IF pg_catalog.pg_is_in_recovery() THEN
      RAISE EXCEPTION USING ERRCODE = '25006',
        MESSAGE = 'reads of this household are audited, and the audit log can only be written on the primary',
        HINT = 'Read this household''s secrets from the primary server (a standby cannot record the read).';
    END IF;
    PERFORM secrets.audit_write(household, 'read', scope, node_id, key, version);
  END IF;
END $$;

-- ---------------------------------------------------------------- backups
-- The audit log's ids continue after a restore: its identity sequence is
-- dumped with the rows.
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('secrets.audit_log', 'id'), '');

-- pgsecrets_backup: what a non-superuser needs for a full pg_dump of the
-- extension's data (ciphertext only; no key is in the database). Row-level
-- security is bypassed, so only BYPASSRLS dumps every household:
--   pg_dump --role=pgsecrets_backup ...   by a login role that is a member.
DO $backup$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgsecrets_backup') THEN
    CREATE ROLE pgsecrets_backup NOLOGIN BYPASSRLS;
  END IF;
END
$backup$;
GRANT USAGE ON SCHEMA secrets TO pgsecrets_backup;
GRANT SELECT ON ALL TABLES IN SCHEMA secrets TO pgsecrets_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA secrets TO pgsecrets_backup;

-- ---------------------------------------------------------------- data
SELECT secrets.record_proven_key_fingerprints();

-- ---------------------------------------------------------------- seeding
-- seed_secrets() is set-based: the manifest is flattened and validated in
-- a few passes before any lock is taken, then the missing secrets are
-- inserted in one statement with the household's write lock held only for
-- that (0.1.0 appended to an array per declaration: quadratic, and it held
-- the lock throughout). Manifests are capped at 100,000 declarations.
-- Appends one entry per element of entries ([{scope, node_id, key,
-- version}, ...]) to a household's chain in one call: one lock, one head
-- lookup, then each entry linked to the one before, as audit_write() does.
CREATE FUNCTION secrets.audit_write_many(household uuid, action text, entries jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  e secrets.audit_log;
  prev_link bytea;
  x record;
  n bigint := 0;
  first_id bigint;
BEGIN
  PERFORM secrets.lock_household(household);
  SELECT a.seq, a.link INTO e.seq, prev_link
    FROM secrets.audit_log a WHERE a.household_id = household ORDER BY a.seq DESC LIMIT 1;
  SELECT l.key_version INTO e.chain_key_version FROM secrets.loaded_key_versions() l WHERE l.active;
  IF e.chain_key_version IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SE002', MESSAGE = 'no active pgsecrets root key is loaded';
  END IF;
  e.household_id := household;
  e.seq := coalesce(e.seq, 0);
  e.actor := secrets.current_actor();
  e.db_role := secrets.current_db_role();
  e.login_role := session_user;
  e.action := action;
  FOR x IN SELECT * FROM jsonb_to_recordset(entries) AS r(scope text, node_id text, key text, version integer) LOOP
    e.seq := e.seq + 1;
    e.at := clock_timestamp();
    e.scope := x.scope;
    e.node_id := x.node_id;
    e.key := x.key;
    e.version := x.version;
    e.link := sha256(coalesce(prev_link, '\x'::bytea) || secrets.audit_message(e));
    e.mac := secrets.audit_seal(e.chain_key_version, household, e.link);
    INSERT INTO secrets.audit_log (household_id, seq, at, actor, db_role, login_role, action,
                                   scope, node_id, key, version, detail, chain_key_version, link, mac)
    VALUES (e.household_id, e.seq, e.at, e.actor, e.db_role, e.login_role, e.action,
            e.scope, e.node_id, e.key, e.version, NULL, e.chain_key_version, e.link, e.mac)
    RETURNING id INTO e.id;
    first_id := coalesce(first_id, e.id);
    prev_link := e.link;
    n := n + 1;
  END LOOP;
  -- One announcement for the batch (a seed of 100,000 declarations would
  -- otherwise queue 100,000 notifications): its ids are first_id..id.
  IF n > 0 AND secrets.is_change_action(action) THEN
    PERFORM pg_catalog.pg_notify('pgsecrets_changes', pg_catalog.json_build_object(
      'id', e.id, 'first_id', first_id, 'count', n, 'household', household, 'action', action)::text);
  END IF;
  RETURN n;
END $$;
ALTER FUNCTION secrets.audit_write_many(uuid, text, jsonb) OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.audit_write_many(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.audit_write_many(uuid, text, jsonb) TO pgsecrets_owner;

-- The declarations seed_secrets() hands to seed_rows(), as rows: one shape,
-- spelled once.
CREATE FUNCTION secrets.seed_declarations(decls jsonb)
RETURNS TABLE (i int, key text, scope text, node_id text, value_type text, description text,
               friendly_name text, is_required boolean, is_sensitive boolean)
LANGUAGE sql IMMUTABLE AS $$
  SELECT * FROM jsonb_to_recordset(decls) AS w(i int, key text, scope text, node_id text, value_type text,
                                               description text, friendly_name text, is_required boolean,
                                               is_sensitive boolean)
$$;
REVOKE ALL ON FUNCTION secrets.seed_declarations(jsonb) FROM PUBLIC;
-- seed_secrets() runs as its caller and checks the declarations through it.
GRANT EXECUTE ON FUNCTION secrets.seed_declarations(jsonb) TO pgsecrets_owner, pgsecrets_user;

CREATE FUNCTION secrets.seed_rows(decls jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  h uuid := secrets.require_privilege('write');
  actor text := secrets.current_actor();
  n integer := 0;
  t record;
BEGIN
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
ALTER FUNCTION secrets.seed_rows(jsonb) OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.seed_rows(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.seed_rows(jsonb) TO pgsecrets_user;

-- A manifest command's list of declarations: secretsctl's manifests name it
-- all_possible_secrets, secrets or required_secrets (the first present
-- wins); none is an empty list. A command with "key" is one declaration.
CREATE FUNCTION secrets.manifest_command_secrets(cmd jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN cmd ? 'key' THEN jsonb_build_array(cmd)
            ELSE coalesce(cmd -> 'all_possible_secrets', cmd -> 'secrets', cmd -> 'required_secrets', '[]') END;
REVOKE ALL ON FUNCTION secrets.manifest_command_secrets(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.manifest_command_secrets(jsonb) TO pgsecrets_user;

CREATE OR REPLACE FUNCTION secrets.seed_secrets(manifest jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  max_declarations constant integer := 100000;
  cmds jsonb;
  decls jsonb;
  bad record;
  total integer;
BEGIN
  IF manifest IS NULL OR jsonb_typeof(manifest) NOT IN ('array', 'object') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'manifest must be a JSON array or object';
  END IF;
  cmds := CASE WHEN jsonb_typeof(manifest) = 'array' THEN manifest ELSE jsonb_build_array(manifest) END;
  IF EXISTS (SELECT FROM jsonb_array_elements(cmds) c WHERE jsonb_typeof(c) <> 'object') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'manifest entries must be JSON objects';
  END IF;
  IF EXISTS (SELECT FROM jsonb_array_elements(cmds) c
              WHERE jsonb_typeof(secrets.manifest_command_secrets(c)) <> 'array') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a command''s secrets must be a JSON array';
  END IF;
  SELECT coalesce(sum(jsonb_array_length(secrets.manifest_command_secrets(c))), 0)
    INTO total FROM jsonb_array_elements(cmds) c;
  IF total > max_declarations THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = format('manifest declares %s secrets; at most %s are accepted in one call', total, max_declarations),
      HINT = 'Seed it in several calls (secretsctl seed does one call per command).';
  END IF;
  -- one flat, numbered list of declarations
  SELECT coalesce(jsonb_agg(x.d || jsonb_build_object('__i', x.i) ORDER BY x.i), '[]') INTO decls
    FROM (SELECT row_number() OVER (ORDER BY c.ord, l.ord) AS i, l.d
            FROM jsonb_array_elements(cmds) WITH ORDINALITY AS c(cmd, ord)
            CROSS JOIN LATERAL jsonb_array_elements(secrets.manifest_command_secrets(c.cmd))
              WITH ORDINALITY AS l(d, ord)) x;
  SELECT x.i, x.why INTO bad FROM (
    SELECT (d ->> '__i')::int AS i,
           CASE WHEN jsonb_typeof(d) <> 'object' OR jsonb_typeof(d -> 'key') IS DISTINCT FROM 'string'
                  THEN '"key" must be a string'
                WHEN (d ? 'required' AND jsonb_typeof(d -> 'required') <> 'boolean')
                  OR (d ? 'is_sensitive' AND jsonb_typeof(d -> 'is_sensitive') <> 'boolean')
                  THEN '"required" and "is_sensitive" must be booleans'
           END AS why
      FROM jsonb_array_elements(decls) d) x
   WHERE x.why IS NOT NULL ORDER BY x.i LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('manifest secret %s: %s', bad.i, bad.why);
  END IF;
  -- each declaration with its defaults, in seed_declarations()' shape
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'i', (d ->> '__i')::int, 'key', d ->> 'key',
           'scope', coalesce(d ->> 'scope', 'integration'), 'node_id', d ->> 'node_id',
           'value_type', coalesce(d ->> 'value_type', 'string'),
           'description', d ->> 'description', 'friendly_name', d ->> 'friendly_name',
           'is_required', coalesce((d -> 'required')::boolean, true),
           'is_sensitive', coalesce((d -> 'is_sensitive')::boolean, true))), '[]')
    INTO decls FROM jsonb_array_elements(decls) d;
  -- the key, scope and type rules, before any lock
  PERFORM secrets.check_key(w.key), secrets.check_scope(w.scope, w.node_id),
          secrets.normalize_value('', w.value_type)
     FROM secrets.seed_declarations(decls) w;
  RETURN secrets.seed_rows(decls);
END $$;

-- ---------------------------------------------------------------- errors
-- The API's own validation errors are marked: SCHEMA 'secrets', TABLE 'api'
-- and COLUMN naming the field. A client (secretsd) that sees the mark knows
-- the message was written for it and holds no value, without matching texts.
CREATE OR REPLACE FUNCTION secrets.check_key(key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF key IS NULL OR key !~ '^[A-Z][A-Z0-9_]*$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'key';
  END IF;
  IF length(key) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'Key must be 255 characters or less',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'key';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION secrets.check_scope(scope text, node_id text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF scope IS NULL OR scope NOT IN ('integration', 'node') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope must be "integration" or "node"',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'scope';
  END IF;
  IF scope = 'node' AND (node_id IS NULL OR node_id = '') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope "node" requires a node_id',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'node_id';
  END IF;
  IF scope = 'integration' AND node_id IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'scope "integration" does not take a node_id',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'node_id';
  END IF;
  IF length(node_id) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'node_id must be 255 characters or less',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'node_id';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION secrets.normalize_value(value text, value_type text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF value_type IS NULL OR value_type NOT IN ('string', 'int', 'bool') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'value_type must be "string", "int" or "bool"',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'value_type';
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
      DETAIL = 'An int value is an optional sign and digits, from -2147483648 to 2147483647.',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'value';
  END IF;
  IF lower(value) IN ('true', 'false') THEN
    RETURN lower(value);
  END IF;
  RAISE EXCEPTION USING ERRCODE = '22023',
    MESSAGE = 'value does not fit value_type "bool"',
    DETAIL = 'A bool value is true or false.',
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'value';
END $$;

-- ---------------------------------------------------------------- locking a secret for a write
-- The row of (key, scope, node_id) in household h, locked for the write
-- that follows. The household's lock comes first, the order every writer
-- takes, so two writers of one household never wait on each other in a
-- cycle. A missing secret is a row of NULLs.
CREATE FUNCTION secrets.lock_secret_row(h uuid, key text, scope text, node_id text)
RETURNS secrets.secrets
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  cur secrets.secrets;
BEGIN
  PERFORM secrets.lock_household(h);
  SELECT s.* INTO cur FROM secrets.secrets s
   WHERE s.household_id = h AND s.key = key AND s.scope = scope
     AND s.node_id IS NOT DISTINCT FROM node_id
   FOR UPDATE;
  RETURN cur;
END $$;
REVOKE ALL ON FUNCTION secrets.lock_secret_row(uuid, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.lock_secret_row(uuid, text, text, text) TO pgsecrets_owner;

-- The live secret an update or a rollback writes: locked, checked against
-- the version the caller read (If-Match; NULL skips), and "not found" when
-- it does not exist or is deleted.
CREATE FUNCTION secrets.lock_live_secret(h uuid, key text, scope text, node_id text,
                                         expected_version integer)
RETURNS secrets.secrets
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  cur secrets.secrets := secrets.lock_secret_row(h, key, scope, node_id);
BEGIN
  PERFORM secrets.check_expected_version(expected_version, cur);
  IF cur.id IS NULL OR cur.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('Secret with key "%s" not found', key),
      SCHEMA = 'secrets', TABLE = 'api', COLUMN = 'key';
  END IF;
  RETURN cur;
END $$;
REVOKE ALL ON FUNCTION secrets.lock_live_secret(uuid, text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.lock_live_secret(uuid, text, text, text, integer) TO pgsecrets_owner;

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
  h uuid := secrets.require_privilege('write');
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

CREATE OR REPLACE FUNCTION secrets.restore_secret(key text, scope text, node_id text DEFAULT NULL)
RETURNS secrets.secret_metadata
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  h uuid := secrets.require_privilege('write');
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
  h uuid := secrets.require_privilege('write');
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

-- ---------------------------------------------------------------- rotation and the settings lock
-- A rotation batch rewraps rows of every household, the provider settings'
-- (00000000-...) among them, and seals its audit entry in that household's
-- chain. 0.1.0's batch took that household's lock last, after its row
-- locks, the reverse of every writer; a settings change during a batch
-- (which holds the lock and then locks its row, or records the new key's
-- fingerprint) deadlocked with it. The batch now takes the settings
-- household's lock first; 0.1.0's body is kept under another name.
ALTER FUNCTION secrets.rotate(integer) RENAME TO rotate_after_settings_lock;

CREATE FUNCTION secrets.rotate(batch_size integer DEFAULT 1000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM secrets.require_superuser('secrets.rotate()');
  PERFORM secrets.lock_household('00000000-0000-0000-0000-000000000000');
  RETURN secrets.rotate_after_settings_lock(batch_size);
END $$;
REVOKE ALL ON FUNCTION secrets.rotate(integer) FROM PUBLIC;

-- ---------------------------------------------------------------- change stream replay
-- The change events of the context's household after audit id `after_id`,
-- oldest first, at most `max_events`, only those the caller may see (a
-- node: integration secrets and its own node's). Runs as the owner, under
-- row-level security: the household comes from secrets.set_context() and
-- every row passes row_visible() with its own scope and node.
CREATE INDEX audit_log_household_id_idx ON secrets.audit_log (household_id, id);

CREATE FUNCTION secrets.change_events(after_id bigint, max_events integer)
RETURNS TABLE (id bigint, at timestamptz, event jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT a.id, a.at, secrets.change_event(a)
    FROM secrets.audit_log a
   WHERE a.household_id = secrets.require_household()
     AND a.id > after_id
     AND secrets.is_change_action(a.action)
     AND secrets.row_visible(a.household_id, a.scope, a.node_id, 1)
   ORDER BY a.id
   LIMIT greatest(max_events, 0)
$$;
ALTER FUNCTION secrets.change_events(bigint, integer) OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.change_events(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.change_events(bigint, integer) TO pgsecrets_gateway;

-- Whether audit id `event_id` is still in the context household's log: a
-- client resuming from an id that is gone (purged by purge_audit_log) has
-- missed events that can no longer be replayed, and must re-list.
CREATE FUNCTION secrets.change_event_kept(event_id bigint)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT FROM secrets.audit_log a
                  WHERE a.household_id = secrets.require_household() AND a.id = event_id)
$$;
ALTER FUNCTION secrets.change_event_kept(bigint) OWNER TO pgsecrets_owner;
REVOKE ALL ON FUNCTION secrets.change_event_kept(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION secrets.change_event_kept(bigint) TO pgsecrets_gateway;
