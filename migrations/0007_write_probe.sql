-- /ready's write probe: secretsd empties this table and writes one row into
-- it (a fresh file block: a full disk fails it with SQLSTATE 53100, a
-- read-only server or standby with 25006), at most every
-- SECRETSD_READY_WRITE_PROBE_MS per instance. UNLOGGED: it costs no WAL
-- beyond the TRUNCATE's catalog change, and its content is never needed.
CREATE UNLOGGED TABLE secretsd.write_probe (
  probed_at timestamptz NOT NULL
);
