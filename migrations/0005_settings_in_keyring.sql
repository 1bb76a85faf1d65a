-- Provider settings become secrets of the extension (one store, one keyring).
--
-- Until now secretsd.global_settings kept its own ciphertext columns, its
-- own one-step previous value and its own log, none of which
-- secrets.key_status(), rotate() or retire_key() could see: retiring a key
-- stranded those ciphertexts for good. From here on every setting's value
-- (sensitive or not) is a secret of the reserved household
-- 00000000-0000-0000-0000-000000000000, scope 'integration', written and
-- read only through the extension's API, so rotation rewraps it, retirement
-- counts it, the extension keeps its versions (rollback) and its audit chain
-- records every change. global_settings keeps metadata only.

-- The secret key of a setting, computed here and nowhere else. A name that
-- already is SCREAMING_SNAKE_CASE is its own key; any other name (and any
-- name starting with SETTING_, so that no two names can meet) is SETTING_
-- and the upper-case hex SHA-256 of the name. Names are ASCII without a
-- backslash (the CHECK on name), so name::bytea is the name's bytes.
ALTER TABLE secretsd.global_settings
  ADD COLUMN secret_key text NOT NULL
    GENERATED ALWAYS AS (
      CASE WHEN name ~ '^[A-Z][A-Z0-9_]*$' AND name !~ '^SETTING_' THEN name
           ELSE 'SETTING_' || upper(encode(sha256(name::bytea), 'hex')) END) STORED
    CONSTRAINT global_settings_secret_key_key UNIQUE;

-- Whether each kept version of a setting's secret was saved as sensitive:
-- the extension keeps the values, this only the flag, so that a rollback to
-- a value saved as sensitive masks it again (never a value here).
CREATE TABLE secretsd.global_setting_versions (
  name         text NOT NULL REFERENCES secretsd.global_settings (name) ON DELETE CASCADE,
  version      integer NOT NULL,
  is_sensitive boolean NOT NULL,
  PRIMARY KEY (name, version)
);

-- Every value moves into the keyring, the previous one first, so that the
-- extension's version history ends with the current value and a rollback
-- after the upgrade returns the previous one. Old ciphertexts are opened
-- inside the database; no value leaves it.
DO $$
DECLARE
  s record;
  written integer;
BEGIN
  PERFORM secrets.set_context('00000000-0000-0000-0000-000000000000', 'secretsd migration 0005');
  FOR s IN
    SELECT g.name, g.secret_key, g.is_sensitive, g.has_previous, g.previous_is_sensitive,
           CASE WHEN g.is_sensitive
                THEN secrets.decrypt_secret(g.value_cipher, '00000000-0000-0000-0000-000000000000',
                                            'global_setting:' || g.name)
                ELSE g.value END AS clear,
           CASE WHEN NOT g.has_previous THEN NULL
                WHEN g.previous_is_sensitive
                THEN secrets.decrypt_secret(g.previous_value_cipher, '00000000-0000-0000-0000-000000000000',
                                            'global_setting:' || g.name)
                ELSE g.previous_value END AS previous_clear
      FROM secretsd.global_settings g
     ORDER BY g.name
  LOOP
    IF s.has_previous THEN
      SELECT (secrets.set_secret(s.secret_key, s.previous_clear, 'integration',
                                 description => 'provider setting ' || s.name)).version INTO written;
      INSERT INTO secretsd.global_setting_versions VALUES (s.name, written, s.previous_is_sensitive);
    END IF;
    SELECT (secrets.set_secret(s.secret_key, s.clear, 'integration',
                               description => 'provider setting ' || s.name)).version INTO written;
    INSERT INTO secretsd.global_setting_versions VALUES (s.name, written, s.is_sensitive);
  END LOOP;
END $$;

-- The constraints over these columns go with them.
ALTER TABLE secretsd.global_settings
  DROP COLUMN value,
  DROP COLUMN value_cipher,
  DROP COLUMN has_previous,
  DROP COLUMN previous_is_sensitive,
  DROP COLUMN previous_value,
  DROP COLUMN previous_value_cipher;

-- The old change log stays as read-only history (who changed which setting
-- when, up to this migration; never a value). secrets.audit_log is the log
-- of every change from now on.
ALTER TABLE secretsd.global_settings_log RENAME TO global_settings_log_before_0005;
COMMENT ON TABLE secretsd.global_settings_log_before_0005 IS
  'Provider setting changes before migration 0005 (read-only). Later changes: secrets.audit_log, household 00000000-0000-0000-0000-000000000000.';
CREATE FUNCTION secretsd.refuse_changes_to_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '55000',
    MESSAGE = format('%s is read-only history', TG_TABLE_NAME);
END $$;
CREATE TRIGGER global_settings_log_before_0005_read_only
  BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON secretsd.global_settings_log_before_0005
  FOR EACH STATEMENT EXECUTE FUNCTION secretsd.refuse_changes_to_history();
