-- pgbench script of bench/http_bench.sh: the statement secretsd runs for
-- GET /api/secrets/{key} (service/secrets/statements.cpp), $1..$6 named.
-- tests/service/integration/secrets_test.cpp checks the two stay identical.
-- pgbench refuses an empty -D value, so the two empty parameters (no calling
-- node, integration scope) are set once per client, on its first
-- transaction; variables persist and meta-commands cost no round trip.
\if :ready = 0
SELECT '' AS caller_node, '' AS node_id \gset
\set ready 1
\endif
WITH c AS MATERIALIZED (SELECT secrets.set_context(:household::uuid, :actor::text, NULLIF(:caller_node::text, '')) AS ctx, :household::uuid AS household_id, :key::text AS key, :scope::text AS scope, NULLIF(:node_id::text, '') AS node_id) SELECT m.id, m.key, m.scope, m.node_id, m.value_type, m.description, m.has_value, m.version, (extract(epoch FROM m.created_at) * 1000)::bigint AS created_at_ms, (extract(epoch FROM m.updated_at) * 1000)::bigint AS updated_at_ms, m.created_by, m.updated_by, v.value FROM c, LATERAL (SELECT s.* FROM secrets.secrets s WHERE s.household_id = c.household_id AND s.key = c.key AND s.scope = c.scope AND s.node_id IS NOT DISTINCT FROM c.node_id AND s.deleted_at IS NULL OFFSET 0) m, LATERAL secrets.get_secret(c.key, c.scope, c.node_id, m.version) AS v(value);
