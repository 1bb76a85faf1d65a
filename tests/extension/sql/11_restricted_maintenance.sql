-- The security-restricted operations 09_hardening.sql leaves out: REINDEX,
-- CLUSTER and VACUUM FULL rebuild an index, so they evaluate its expression
-- as the table's owner while the outer user is a superuser. The expression
-- (regress_evil.leak() of 09_hardening.sql, which counts the rows it can see
-- and looks for a value) must see nothing; a notice shows what it saw at
-- each rebuild. autovacuum is checked by tests/extension/autovacuum.sh (it
-- needs a cluster of its own, with a short naptime).
SET SESSION AUTHORIZATION regress_bob;
CREATE FUNCTION regress_evil.leak_noticed(int) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  seen text := regress_evil.leak($1);
BEGIN
  RAISE NOTICE 'the index expression saw: %', seen;
  RETURN seen;
END $$;
DROP TABLE IF EXISTS regress_evil.one_row;
CREATE TABLE regress_evil.one_row (x int);
INSERT INTO regress_evil.one_row VALUES (1);
CREATE INDEX one_row_x ON regress_evil.one_row (x);
RESET SESSION AUTHORIZATION;
-- The control: called by the superuser outside any maintenance, the same
-- function does see values, so "0 rows" below is the guard's doing.
SELECT regress_evil.leak(1) ~ '^[1-9][0-9]* rows, value: [^n]' AS superuser_itself_sees_values;
SET client_min_messages = notice;
CREATE INDEX one_row_leak ON regress_evil.one_row ((regress_evil.leak_noticed(x)));
REINDEX INDEX regress_evil.one_row_leak;
REINDEX TABLE regress_evil.one_row;
CLUSTER regress_evil.one_row USING one_row_x;
VACUUM FULL regress_evil.one_row;
RESET client_min_messages;
DROP TABLE regress_evil.one_row;
DROP FUNCTION regress_evil.leak_noticed(int);
