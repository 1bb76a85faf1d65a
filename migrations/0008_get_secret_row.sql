-- GET /api/secrets/{key} as a server function, so that its plan is cached.
--
-- secretsd sends unnamed statements only (PgBouncer's transaction mode keeps
-- no protocol-level prepared statement across transactions), and an unnamed
-- statement is parsed and planned on every call: for this statement (a
-- MATERIALIZED CTE and two LATERAL function calls) planning cost more than
-- running it, and the GET ran at 33-41 percent of its prepared throughput
-- (bench/README.md, "Unnamed vs named statements"). PL/pgSQL caches the plans
-- of its statements per backend, whatever the protocol, so secretsd now sends
-- the trivial unnamed "SELECT * FROM secretsd.get_secret_row($1, ..., $6)".
--
-- The query is service/secrets/statements.cpp's former GET statement, word
-- for word ($1 household, $2 actor, $3 calling node, $4 key, $5 scope, $6
-- node id; '' stands for NULL): the context is set in a MATERIALIZED CTE
-- before anything reads, the value comes through secrets.get_secret() (so
-- read auditing applies) pinned to the row's version. SECURITY INVOKER (the
-- default): it runs as the gateway role, under row-level security, and
-- set_context lasts for the calling statement's transaction as before.
CREATE FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text)
RETURNS TABLE (id uuid, key text, scope text, node_id text, value_type text, description text,
               has_value boolean, version integer, created_at_ms bigint, updated_at_ms bigint,
               created_by text, updated_by text, value text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH c AS MATERIALIZED (SELECT secrets.set_context($1::uuid, $2::text, NULLIF($3::text, '')) AS ctx, $1::uuid AS household_id, $4::text AS key, $5::text AS scope, NULLIF($6::text, '') AS node_id)
  SELECT m.id, m.key, m.scope, m.node_id, m.value_type, m.description, m.has_value, m.version, (extract(epoch FROM m.created_at) * 1000)::bigint AS created_at_ms, (extract(epoch FROM m.updated_at) * 1000)::bigint AS updated_at_ms, m.created_by, m.updated_by, v.value
    FROM c, LATERAL (SELECT s.* FROM secrets.secrets s WHERE s.household_id = c.household_id AND s.key = c.key AND s.scope = c.scope AND s.node_id IS NOT DISTINCT FROM c.node_id AND s.deleted_at IS NULL OFFSET 0) m,
         LATERAL secrets.get_secret(c.key, c.scope, c.node_id, m.version) AS v(value);
END
$fn$;
