-- pgbench script of bench/http_bench.sh: the statement secretsd runs for
-- GET /api/secrets/{key} (service/secrets/statements.cpp), $1..$6 named: a
-- call of secretsd.get_secret_row (migrations/0008_get_secret_row.sql).
-- tests/secrets/secrets_it.cpp checks the two stay identical.
-- pgbench refuses an empty -D value, so the two empty parameters (no calling
-- node, integration scope) are set once per client, on its first
-- transaction; variables persist and meta-commands cost no round trip.
\if :ready = 0
SELECT '' AS caller_node, '' AS node_id \gset
\set ready 1
\endif
SELECT * FROM secretsd.get_secret_row(:household::uuid, :actor::text, :caller_node::text, :key::text, :scope::text, :node_id::text);
