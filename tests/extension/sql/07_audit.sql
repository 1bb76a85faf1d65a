-- The audit trail: one entry per change, in the same transaction, no values,
-- append-only, chained and verifiable.
\set SHOW_CONTEXT never
\set C '''cccccccc-0000-0000-0000-000000000003'''
SELECT secrets.grant_household('regress_alice', :C, 'admin');
SELECT secrets.use_household(:C, for_session => true);

-- Every kind of change is recorded, with its actor, role, key and version.
SELECT (secrets.set_secret('AUDITED', 'audit-canary-1', 'integration')).version;
SELECT (secrets.set_secret('AUDITED', 'audit-canary-2', 'integration')).version;
SELECT (secrets.rollback_secret('AUDITED', 'integration', 1)).version;
SELECT secrets.delete_secret('AUDITED', 'integration');
SELECT (secrets.restore_secret('AUDITED', 'integration')).version;
SELECT secrets.get_secret('AUDITED', 'integration') AS read_not_audited_yet;
SELECT audit_reads FROM secrets.configure_household(audit_reads => true);
SELECT secrets.get_secret('AUDITED', 'integration') AS read_audited;
SELECT secrets.get_secret_int('AUDITED', 'integration') AS typed_read_audited;
SELECT secrets.get_secret('AUDITED', 'integration', version => 2) AS old_version_read;
SELECT secrets.get_secret('NOT_THERE', 'integration') IS NULL AS missing_not_audited;
SELECT audit_reads FROM secrets.configure_household(audit_reads => false);
-- A failed change leaves no entry: the entry is written in the change's transaction.
SELECT secrets.update_secret('AUDITED', value => 'x', expected_version => 1);
SELECT seq, action, scope, node_id, key, version, actor, db_role, login_role, detail
  FROM secrets.audit_log WHERE household_id = :C ORDER BY seq;

-- The gateway's actor and node are recorded; a role's SET ROLE too.
SET SESSION AUTHORIZATION regress_gateway_login;
BEGIN;
SELECT secrets.set_context('cccccccc-0000-0000-0000-000000000003', 'user:42', 'kitchen');
SELECT (secrets.set_secret('NODE_AUDITED', 'audit-canary-3', 'node', node_id => 'kitchen')).version;
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT seq, action, node_id, key, actor, db_role, login_role
  FROM secrets.audit_log WHERE household_id = :C AND key = 'NODE_AUDITED';

-- No entry ever holds a value.
SELECT count(*) AS entries_with_a_value FROM secrets.audit_log a WHERE a::text LIKE '%canary%';

-- Household admins read their household's trail; others see nothing of it.
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.use_household('cccccccc-0000-0000-0000-000000000003', for_session => true);
SELECT count(*) > 0 AS admin_sees_own_trail FROM secrets.audit_log;
SELECT count(DISTINCT household_id) AS households_seen FROM secrets.audit_log;
SELECT * FROM secrets.verify_audit_chain();
-- alice only writes household A: with A selected she still sees none of its trail.
SELECT secrets.use_household('aaaaaaaa-0000-0000-0000-000000000001', for_session => true);
SELECT secrets.current_privilege() AS alice_in_a;
SELECT count(*) AS writer_sees FROM secrets.audit_log;
SELECT secrets.verify_audit_chain();
SELECT secrets.use_household(NULL);
-- Nobody may change or remove entries: not the API's roles, not a superuser.
UPDATE secrets.audit_log SET actor = 'someone else';
DELETE FROM secrets.audit_log;
INSERT INTO secrets.audit_log (household_id, seq, at, actor, db_role, login_role, action,
                               chain_key_version, link, mac)
VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 999, now(), 'x', 'x', 'x', 'read', 2, '\x00', '\x00');
SELECT secrets.audit_write('aaaaaaaa-0000-0000-0000-000000000001', 'read', NULL, NULL, NULL, NULL);
SELECT secrets.purge_audit_log(now());
RESET SESSION AUTHORIZATION;
\set VERBOSITY sqlstate
UPDATE secrets.audit_log SET actor = 'someone else' WHERE household_id = :C;
DELETE FROM secrets.audit_log WHERE household_id = :C;
TRUNCATE secrets.audit_log;
SET session_replication_role = replica;
DELETE FROM secrets.audit_log WHERE household_id = :C;
RESET session_replication_role;
\set VERBOSITY default
UPDATE secrets.audit_log SET actor = 'someone else' WHERE household_id = :C;
-- The purge's exception cannot be switched on from SQL: the prefix is reserved.
SELECT set_config('pgsecrets.audit_purge', 'on', false);

-- Every chain verifies.
SELECT * FROM secrets.verify_audit_chain();

-- DBA views: who created and changed what, per household and key.
SELECT key, created_by, last_changed_by, last_change, last_version, changes, reads, actors
  FROM secrets.audit_by_key WHERE household_id = :C ORDER BY key;
SELECT actor, action, entries FROM secrets.audit_by_actor
 WHERE household_id = :C ORDER BY actor, action;
SELECT key, version, is_current, written_by, written_by_action
  FROM secrets.secret_history_view WHERE household_id = :C ORDER BY key, version;

-- A hand-edited entry (triggers off, as a superuser can) is found.
CREATE TEMP TABLE before_edit AS SELECT * FROM secrets.audit_log WHERE household_id = :C;
ALTER TABLE secrets.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE secrets.audit_log SET actor = 'innocent' WHERE household_id = :C AND seq = 3;
SELECT household_id, seq, reason FROM secrets.verify_audit_chain();
-- ... even when the editor recomputes the entry's link: the MAC gives it away.
UPDATE secrets.audit_log a SET link = sha256(p.link || secrets.audit_message(a))
  FROM secrets.audit_log p
 WHERE a.household_id = :C AND a.seq = 3 AND p.household_id = :C AND p.seq = 2;
SELECT household_id, seq, reason FROM secrets.verify_audit_chain(:C);
-- ... a removed entry, and a removed first entry, are found too.
UPDATE secrets.audit_log a SET actor = b.actor, link = b.link
  FROM before_edit b WHERE a.household_id = b.household_id AND a.seq = b.seq AND a.seq = 3;
SELECT count(*) AS broken_after_repair FROM secrets.verify_audit_chain();
DELETE FROM secrets.audit_log WHERE household_id = :C AND seq = 5;
SELECT household_id, seq, reason FROM secrets.verify_audit_chain();
INSERT INTO secrets.audit_log SELECT * FROM before_edit WHERE seq = 5;
DELETE FROM secrets.audit_log WHERE household_id = :C AND seq = 1;
SELECT household_id, seq, reason FROM secrets.verify_audit_chain();
INSERT INTO secrets.audit_log SELECT * FROM before_edit WHERE seq = 1;
ALTER TABLE secrets.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT count(*) AS broken_after_repair FROM secrets.verify_audit_chain();

-- Grants are audited too.
SELECT action, detail FROM secrets.audit_log
 WHERE household_id = 'aaaaaaaa-0000-0000-0000-000000000001' AND action = 'grant' ORDER BY seq LIMIT 2;

-- The retention purge (superusers only) keeps each chain's head, records
-- where the kept chain starts, and the chains still verify.
SELECT count(*) AS entries_before FROM secrets.audit_log WHERE household_id = :C;
SELECT secrets.purge_audit_log(now()) > 0 AS purged;
SELECT seq, action, detail ->> 'kept_from_seq' = (seq - 1)::text AS kept_head
  FROM secrets.audit_log WHERE household_id = :C ORDER BY seq;
SELECT * FROM secrets.verify_audit_chain();
SELECT secrets.revoke_household('regress_alice', :C);
SELECT action, detail FROM secrets.audit_log WHERE household_id = :C AND action = 'revoke';
SELECT * FROM secrets.verify_audit_chain();
SELECT secrets.use_household(NULL);
