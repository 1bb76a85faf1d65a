-- pgbench script of bench/http_bench.sh: the statement secretsd runs for
-- GET /api/secrets/{key} (service/secrets/statements.cpp), $1..$8 named: a
-- call of secretsd.get_secret_row (migrations/0012_people_and_roles.sql;
-- role 'membership': a person's read, their role read in the statement).
-- tests/secrets/secrets_it.cpp checks the two stay identical.
-- pgbench refuses an empty -D value, so the three empty parameters (no calling
-- node, no key prefix, integration scope) are set once per client, on its first
-- transaction; variables persist and meta-commands cost no round trip.
\if :ready = 0
SELECT '' AS caller_node, '' AS key_prefix, '' AS node_id \gset
\set ready 1
\endif
SELECT * FROM secretsd.get_secret_row(:household::uuid, :actor::text, :caller_node::text, :role::text, :key_prefix::text, :key::text, :scope::text, :node_id::text);
