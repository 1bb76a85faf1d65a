-- key_status(): versions loaded and rows under each; never key material.
\set SHOW_CONTEXT never
SELECT key_version, active, loaded, rows > 0 AS has_rows FROM secrets.key_status();
SELECT pg_get_function_result('secrets.key_status()'::regprocedure);
-- Not for ordinary roles.
SET SESSION AUTHORIZATION regress_alice;
SELECT * FROM secrets.key_status();
RESET SESSION AUTHORIZATION;
-- The key file's path is superuser-only.
SET SESSION AUTHORIZATION regress_alice;
SHOW pgsecrets.key_file;
RESET SESSION AUTHORIZATION;
SELECT current_setting('pgsecrets.key_file') LIKE '%/keys/root.key' AS path_visible_to_superuser;
