-- GET /api/secrets/{key} reads through the extension's service API only.
--
-- 0008's function read the table secrets.secrets itself (the metadata row)
-- and then the value through secrets.get_secret(). secretsd now reaches
-- secrets only through the functions the extension documents as its
-- service API (pgsecrets 0.3.0; secretsd refuses to start on an older
-- version): secrets.read_secret() returns the metadata and the value of one
-- version in one call, from one row, read-audited like get_secret() and
-- under the same row-level security, and applies the key and scope rules
-- that 0009 added in front of 0008's body.
--
-- 0008 and 0009 stay as they are: applied migrations are recorded by
-- checksum (service/db/migrations.cpp) and a changed file stops secretsd.
-- This one replaces what they created: get_secret_row keeps its signature
-- and columns (service/secrets/statements.cpp still sends the same trivial
-- statement, and PL/pgSQL still caches the plan), and 0008's body, which
-- 0009 had renamed get_secret_row_unchecked, is dropped.
CREATE OR REPLACE FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text)
RETURNS TABLE (id uuid, key text, scope text, node_id text, value_type text, description text,
               has_value boolean, version integer, created_at_ms bigint, updated_at_ms bigint,
               created_by text, updated_by text, value text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  -- Lasts for the calling statement's transaction, as before.
  PERFORM secrets.set_context($1, $2, NULLIF($3, ''));
  RETURN QUERY
  SELECT r.id, r.key, r.scope, r.node_id, r.value_type, r.description, r.has_value, r.version,
         (extract(epoch FROM r.created_at) * 1000)::bigint, (extract(epoch FROM r.updated_at) * 1000)::bigint,
         r.created_by, r.updated_by, r.value
    FROM secrets.read_secret($4, $5, NULLIF($6, '')) r;
END
$fn$;

DROP FUNCTION secretsd.get_secret_row_unchecked(uuid, text, text, text, text, text);
