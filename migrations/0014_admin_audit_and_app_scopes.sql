-- The instance administrators' audit, and scoped app grants.
--
-- admin_audit: who changed what outside any household -- provider settings,
-- apps, nodes, runtime restarts, instance admins -- and every use of the
-- break-glass ADMIN_API_KEY. Entries are hash-chained like the extension's
-- household audit: link = sha256(previous link || the entry's fields), so a
-- rewritten or removed entry breaks the chain from there on, and
-- verify_admin_audit() names the first entry that does not match. Entries are
-- appended only through record_admin_action(), which serialises appenders
-- with a transaction-level advisory lock so that the chain has no fork.
CREATE TABLE secretsd.admin_audit (
  seq    bigint PRIMARY KEY,
  at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor  text NOT NULL CHECK (length(actor) BETWEEN 1 AND 300),
  action text NOT NULL CHECK (action ~ '^[a-z][a-z_.]{0,63}$'),
  target text NOT NULL DEFAULT '' CHECK (length(target) <= 300),
  detail jsonb NOT NULL DEFAULT '{}'::jsonb,
  link   bytea NOT NULL
);
CREATE INDEX admin_audit_actor_idx ON secretsd.admin_audit (actor, seq);

-- The bytes an entry's link covers, one field per line, each length-prefixed
-- so that no two different entries share them.
CREATE FUNCTION secretsd.admin_audit_link(prev bytea, seq bigint, at timestamptz, actor text,
                                          action text, target text, detail jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(
    seq::text || E'\n' ||
    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || E'\n' ||
    length(actor)::text || ':' || actor || E'\n' ||
    length(action)::text || ':' || action || E'\n' ||
    length(target)::text || ':' || target || E'\n' ||
    detail::text, 'UTF8'))
$$;

CREATE FUNCTION secretsd.record_admin_action(p_actor text, p_action text, p_target text,
                                             p_detail jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  head secretsd.admin_audit%ROWTYPE;
  next_seq bigint;
  stamp timestamptz := clock_timestamp();
  detail jsonb := coalesce(p_detail, '{}'::jsonb);
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('secretsd.admin_audit'));
  SELECT * INTO head FROM secretsd.admin_audit ORDER BY seq DESC LIMIT 1;
  next_seq := coalesce(head.seq, 0) + 1;
  INSERT INTO secretsd.admin_audit (seq, at, actor, action, target, detail, link)
  VALUES (next_seq, stamp, p_actor, p_action, coalesce(p_target, ''), detail,
          secretsd.admin_audit_link(head.link, next_seq, stamp, p_actor, p_action,
                                    coalesce(p_target, ''), detail));
  RETURN next_seq;
END $$;

-- The first entry whose link does not follow from its predecessor, or no
-- row when the chain is intact.
CREATE FUNCTION secretsd.verify_admin_audit()
RETURNS TABLE (seq bigint, reason text) LANGUAGE sql STABLE AS $$
  WITH chain AS (
    SELECT a.*, lag(a.link) OVER (ORDER BY a.seq) AS prev_link,
           lag(a.seq) OVER (ORDER BY a.seq) AS prev_seq
      FROM secretsd.admin_audit a
  )
  SELECT c.seq,
         CASE WHEN c.seq <> coalesce(c.prev_seq, 0) + 1 THEN 'missing entry before this one'
              ELSE 'entry does not match its link' END
    FROM chain c
   WHERE c.seq <> coalesce(c.prev_seq, 0) + 1
      OR c.link <> secretsd.admin_audit_link(c.prev_link, c.seq, c.at, c.actor, c.action,
                                             c.target, c.detail)
   ORDER BY c.seq
   LIMIT 1
$$;

-- Append-only: an UPDATE or DELETE is refused (the owner could drop the
-- trigger; the chain then shows what was changed).
CREATE FUNCTION secretsd.admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'the admin audit is append-only';
END $$;
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON secretsd.admin_audit
  FOR EACH ROW EXECUTE FUNCTION secretsd.admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON secretsd.admin_audit
  FOR EACH STATEMENT EXECUTE FUNCTION secretsd.admin_audit_append_only();

-- Scoped apps: a grant gives 'read' or 'write', optionally only for keys
-- that start with key_prefix. Existing grants were all-or-nothing: they
-- become 'write' with no prefix, so every app keeps what it could do. A
-- prefix follows the key grammar (secrets.check_key, checked when the grant
-- is written): it is not repeated here.
ALTER TABLE secretsd.app_households
  ADD COLUMN privilege text NOT NULL DEFAULT 'write' CHECK (privilege IN ('read', 'write')),
  ADD COLUMN key_prefix text;
