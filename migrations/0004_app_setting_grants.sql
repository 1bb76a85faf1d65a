-- Which provider settings an app may consume through the runtimes it
-- registers (POST /internal/runtimes), and so read in clear through
-- GET /internal/runtime-env. Before this table any app credential could
-- register a runtime consuming any setting and read it; now the admin
-- grants each app its settings (PUT /api/v0/admin/apps/{id}/settings).
-- Runtimes in SECRETSD_RUNTIMES_FILE are the operator's and need no grant.
CREATE TABLE secretsd.app_setting_grants (
  app_id       text NOT NULL REFERENCES secretsd.apps (app_id) ON DELETE CASCADE,
  setting_name text NOT NULL CHECK (setting_name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'),
  granted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, setting_name)
);
