-- Provider settings (edited by the admin), the runtimes that consume them and
-- the outcome of their last restart, and the per-node settings relay.
--
-- Sensitive values are stored ONLY as ciphertext from
-- secrets.encrypt_secret(value, '00000000-0000-0000-0000-000000000000',
-- 'global_setting:' || name): the "global" household and a context naming
-- the setting, so a ciphertext copied to another setting fails to decrypt.
-- The tables live in schema secretsd (not public): secretsd's login role
-- owns that schema, and PostgreSQL 15 grants no CREATE on public.

CREATE TABLE secretsd.global_settings (
  name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'),
  is_sensitive boolean NOT NULL,
  value        text,   -- non-sensitive values only
  value_cipher bytea,  -- sensitive values only
  description  text CHECK (length(description) <= 1000),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text NOT NULL,
  -- The value before the last change, for a one-step rollback. Encrypted
  -- when either that value or the current one is sensitive.
  has_previous          boolean NOT NULL DEFAULT false,
  previous_is_sensitive boolean,
  previous_value        text,
  previous_value_cipher bytea,
  CHECK (CASE WHEN is_sensitive THEN value IS NULL AND value_cipher IS NOT NULL
              ELSE value IS NOT NULL AND value_cipher IS NULL END),
  CHECK (NOT has_previous OR
         CASE WHEN previous_is_sensitive THEN previous_value IS NULL AND previous_value_cipher IS NOT NULL
              ELSE previous_value IS NOT NULL AND previous_value_cipher IS NULL END)
);

-- Who changed which setting when, and how. Never a value.
CREATE TABLE secretsd.global_settings_log (
  id           bigserial PRIMARY KEY,
  setting_name text NOT NULL,
  action       text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'rollback', 'canary_rollback')),
  actor        text NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX global_settings_log_name_idx ON secretsd.global_settings_log (setting_name, at);

-- Runtimes registered by apps through POST /internal/runtimes. Runtimes from
-- SECRETSD_RUNTIMES_FILE are not stored here: the file is the trusted source.
CREATE TABLE secretsd.runtimes (
  id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  app_id          text NOT NULL REFERENCES secretsd.apps (app_id) ON DELETE CASCADE,
  settings        text[] NOT NULL,
  restart_command text[],  -- argv, executed without a shell
  restart_url     text,
  health_url      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((restart_command IS NULL) <> (restart_url IS NULL))
);

-- The last restart of every runtime (API or config file), by id.
CREATE TABLE secretsd.runtime_restarts (
  runtime_id  text PRIMARY KEY,
  status      text NOT NULL CHECK (status IN ('ok', 'failed', 'timeout', 'skipped')),
  message     text NOT NULL DEFAULT '',
  duration_ms bigint NOT NULL,
  setting     text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now()
);

-- The E2E-encrypted settings blob the mobile app writes for a node (K2):
-- opaque bytes, never parsed. etag is random per write, so an old ETag never
-- matches a later blob, even after the node is deleted and re-created.
CREATE TABLE secretsd.node_settings_blobs (
  node_id      text PRIMARY KEY REFERENCES secretsd.nodes (node_id) ON DELETE CASCADE,
  household_id uuid NOT NULL,
  blob         bytea NOT NULL,
  version      bigint NOT NULL,
  etag         text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text NOT NULL
);
