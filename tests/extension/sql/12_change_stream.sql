-- The change stream's source: every change is announced on
-- 'pgsecrets_changes' in its own transaction (the payloads themselves are
-- checked by tests/extension/change_notify.sh, which can mask the listener's
-- PID), and secrets.change_events() replays a household's changes after an
-- audit id, only those the caller may see.
\set SHOW_CONTEXT never
\set H '''dddddddd-0000-0000-0000-00000000000d'''
SELECT coalesce(max(id), 0) AS base FROM secrets.audit_log \gset

-- A write that rolls back announces nothing (a committed one would print an
-- "Asynchronous notification" line here).
LISTEN pgsecrets_changes;
BEGIN;
SELECT secrets.use_household(:H);
SELECT (secrets.set_secret('ROLLED_BACK', 'never-announced', 'integration')).version;
ROLLBACK;
UNLISTEN pgsecrets_changes;

-- Changes of every kind, by the gateway for a user, in household H.
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context(:H, 'user:1');
SELECT (secrets.set_secret('SHARED', 'stream-canary-1', 'integration')).version;
SELECT (secrets.set_secret('SHARED', 'stream-canary-2', 'integration')).version;
SELECT (secrets.rollback_secret('SHARED', 'integration', 1)).version;
SELECT secrets.delete_secret('SHARED', 'integration');
SELECT (secrets.restore_secret('SHARED', 'integration')).version;
SELECT (secrets.set_secret('PORT', '1', 'node', 'int', node_id => 'kitchen')).version;
SELECT (secrets.set_secret('PORT', '2', 'node', 'int', node_id => 'garage')).version;
SELECT secrets.get_secret('SHARED', 'integration') IS NOT NULL AS read_is_no_change;
COMMIT;

-- A user sees every change of its household, in order, never a value.
BEGIN;
SELECT secrets.set_context(:H, 'user:1');
SELECT id - :base AS rel_id, event ->> 'action' AS action, event ->> 'key' AS key,
       event ->> 'scope' AS scope, event ->> 'node_id' AS node_id, event ->> 'version' AS version,
       event ? 'value' AS has_value, event ->> 'at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS at_iso
  FROM secrets.change_events(:base, 100);
-- Resuming after the third event; a limit.
SELECT count(*) FROM secrets.change_events(:base + 3, 100);
SELECT id - :base AS rel_id FROM secrets.change_events(:base, 2);
SELECT secrets.change_event_kept(:base + 2) AS kept, secrets.change_event_kept(:base) AS other_household;
COMMIT;

-- A node sees integration secrets and its own node's, not a sibling's.
BEGIN;
SELECT secrets.set_context(:H, 'node:kitchen', 'kitchen');
SELECT event ->> 'key' AS key, event ->> 'node_id' AS node_id, event ->> 'action' AS action
  FROM secrets.change_events(:base, 100);
COMMIT;

-- Another household sees nothing of H.
BEGIN;
SELECT secrets.set_context('eeeeeeee-0000-0000-0000-00000000000e', 'user:2');
SELECT count(*) AS other_household_events FROM secrets.change_events(:base, 100);
COMMIT;

-- Without a context: no household, an error.
SELECT count(*) FROM secrets.change_events(:base, 100);
RESET SESSION AUTHORIZATION;

-- Only the gateway may call the replay functions.
SET SESSION AUTHORIZATION regress_alice;
SELECT count(*) FROM secrets.change_events(0, 1);
RESET SESSION AUTHORIZATION;
