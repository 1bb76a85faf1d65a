-- Refresh-token families are rotated and revoked one transaction at a time.
--
-- Without this, revoking a family (logout, or reuse detection) raced a
-- concurrent rotation in the same family: the revoking UPDATE could not see
-- the token the rotation was inserting, so that new token survived the
-- revocation and kept rotating. Now every rotation and every revocation
-- first takes a transaction-scoped advisory lock on the family, so a
-- revocation runs after the rotation commits and its UPDATE (a new
-- statement, so a new snapshot) sees the new token; and a family with any
-- revoked token can no longer rotate at all, so nothing issued before a
-- revocation outlives it.

-- The family lock's key: one advisory lock per family, in a key space of
-- its own ("refresh family", then the family id's hash).
CREATE FUNCTION secretsd.lock_refresh_family(p_family_id uuid) RETURNS void
LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(hashtext('secretsd.refresh_family'), hashtext(p_family_id::text))
$$;

CREATE OR REPLACE FUNCTION secretsd.rotate_refresh_token(p_presented_hash text, p_new_hash text,
                                                         p_ttl_days int, p_grace_seconds int)
RETURNS TABLE (outcome text, user_id uuid, household_id uuid, role text)
LANGUAGE plpgsql AS $$
DECLARE
  family uuid;
  t secretsd.refresh_tokens%ROWTYPE;
  u secretsd.users%ROWTYPE;
  new_id uuid := gen_random_uuid();
BEGIN
  SELECT r.family_id INTO family FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text;
    RETURN;
  END IF;
  PERFORM secretsd.lock_refresh_family(family);
  -- Read again under the lock: what a finished rotation or revocation left.
  SELECT * INTO t FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash FOR UPDATE;
  IF NOT FOUND OR t.revoked_at IS NOT NULL OR t.expires_at <= now()
     OR EXISTS (SELECT FROM secretsd.refresh_tokens r
                 WHERE r.family_id = t.family_id AND r.revoked_at IS NOT NULL) THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text;
    RETURN;
  END IF;
  SELECT * INTO u FROM secretsd.users x WHERE x.id = t.user_id;
  IF u.disabled_at IS NOT NULL THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text;
    RETURN;
  END IF;
  IF t.rotated_at IS NOT NULL AND now() - t.rotated_at > make_interval(secs => p_grace_seconds) THEN
    UPDATE secretsd.refresh_tokens r SET revoked_at = now()
     WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
    RETURN QUERY SELECT 'reused'::text, NULL::uuid, NULL::uuid, NULL::text;
    RETURN;
  END IF;
  INSERT INTO secretsd.refresh_tokens (id, family_id, user_id, token_hash, expires_at)
  VALUES (new_id, t.family_id, t.user_id, p_new_hash, now() + make_interval(days => p_ttl_days));
  IF t.rotated_at IS NULL THEN
    UPDATE secretsd.refresh_tokens r SET rotated_at = now(), replaced_by = new_id WHERE r.id = t.id;
    RETURN QUERY SELECT 'rotated'::text, u.id, u.household_id, u.role;
  ELSE
    RETURN QUERY SELECT 'grace'::text, u.id, u.household_id, u.role;
  END IF;
END $$;

-- Logout: revokes the presented token's whole family, after any rotation
-- in flight in that family has committed. Returns how many tokens it revoked.
CREATE FUNCTION secretsd.revoke_refresh_family(p_presented_hash text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  family uuid;
  n bigint;
BEGIN
  SELECT r.family_id INTO family FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  PERFORM secretsd.lock_refresh_family(family);
  UPDATE secretsd.refresh_tokens r SET revoked_at = now()
   WHERE r.family_id = family AND r.revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
