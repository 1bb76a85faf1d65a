-- Rotation entry points on the suite's cluster (keys 1 and 2, 2 active,
-- every value already under 2). The end-to-end rotation, with rows under an
-- old key, a crash and a retired key, is tests/extension/rotation.sh.
\set SHOW_CONTEXT never
SELECT * FROM secrets.rotation_status();
SELECT secrets.rotate(100) AS rewrapped;
CALL secrets.rotate_all(100);
SELECT key_version, active, loaded, retirable, secret_rows, history_rows, message
  FROM secrets.retire_key(1);
SELECT key_version, active, retirable, secret_rows + history_rows > 0 AS in_use, message
  FROM secrets.retire_key(2);

-- rewrap: a value already under the active version comes back unchanged;
-- a tampered one is refused like decrypt_secret refuses it.
CREATE TEMP TABLE rw AS
SELECT secrets.encrypt_secret('rewrap-canary', 'aaaaaaaa-0000-0000-0000-000000000001', 'ctx') AS c;
SELECT secrets.rewrap(c, 'aaaaaaaa-0000-0000-0000-000000000001', 'ctx') = c AS unchanged FROM rw;
\set VERBOSITY sqlstate
SELECT secrets.rewrap(set_byte(c, 5, 1), 'aaaaaaaa-0000-0000-0000-000000000001', 'ctx') FROM rw;
SELECT secrets.rotate(0);
\set VERBOSITY default

-- Superusers only.
SET SESSION AUTHORIZATION regress_alice;
SELECT secrets.rewrap('\x00'::bytea, 'aaaaaaaa-0000-0000-0000-000000000001', 'ctx');
SELECT secrets.rotate(10);
CALL secrets.rotate_all(10);
SELECT * FROM secrets.retire_key(1);
SELECT * FROM secrets.rotation_status();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_gateway_login;
SELECT active_key_version, rows_to_rewrap FROM secrets.rotation_status();
RESET SESSION AUTHORIZATION;
