-- GET /api/secrets/{key} applies the extension's key and scope rules
-- (secrets.check_key, secrets.check_scope), as every other per-secret
-- statement of secretsd does (service/secrets/statements.cpp): secretsd
-- holds no copy of those rules, so a malformed name gets the rule's own
-- marked 400 from the one place the rule is written. 0008's function keeps
-- its body (and its cached plan) under another name.
ALTER FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text)
  RENAME TO get_secret_row_unchecked;

CREATE FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text)
RETURNS TABLE (id uuid, key text, scope text, node_id text, value_type text, description text,
               has_value boolean, version integer, created_at_ms bigint, updated_at_ms bigint,
               created_by text, updated_by text, value text)
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM secrets.check_key($4), secrets.check_scope($5, NULLIF($6, ''));
  RETURN QUERY SELECT * FROM secretsd.get_secret_row_unchecked($1, $2, $3, $4, $5, $6);
END
$fn$;
