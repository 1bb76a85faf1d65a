-- An owner's requirement of two-factor sign-in for a household (issue 22):
-- households.require_two_factor (0012) is set through
-- secretsd.set_household_two_factor, and check_session also answers it, so
-- the authenticator refuses that household to a session without a second
-- factor in the same round trip it already makes.
-- SQLSTATEs as 0012's member rules (service/api/error.cpp maps them):
-- SD404 household not found (or not a member: no existence leaks), SD403
-- not an owner.

-- check_session, plus the asked household's requirement (false when no
-- household is asked or the user is not a member of it).
DROP FUNCTION secretsd.check_session(uuid, uuid, uuid);
CREATE FUNCTION secretsd.check_session(p_session uuid, p_user uuid, p_household uuid)
RETURNS TABLE (live boolean, second_factor boolean, instance_admin boolean, role text,
               require_two_factor boolean)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE secretsd.sessions s SET last_used_at = now()
   WHERE s.id = p_session AND s.user_id = p_user AND s.ended_at IS NULL
     AND s.last_used_at < now() - interval '1 minute';
  RETURN QUERY
  SELECT s.ended_at IS NULL AND u.disabled_at IS NULL, s.second_factor, u.instance_admin,
         m.role, COALESCE(h.require_two_factor AND m.role IS NOT NULL, false)
    FROM secretsd.sessions s JOIN secretsd.users u ON u.id = s.user_id
    LEFT JOIN secretsd.memberships m ON m.user_id = u.id AND m.household_id = p_household
    LEFT JOIN secretsd.households h ON h.id = m.household_id
   WHERE s.id = p_session AND s.user_id = p_user;
END $$;

-- Sets whether `p_household` requires two-factor sign-in, as `p_actor`
-- (an owner of it); returns the new value. Locks the household row so two
-- owners' changes are applied one after the other.
CREATE FUNCTION secretsd.set_household_two_factor(p_actor uuid, p_household uuid,
                                                  p_required boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  actor_role text;
BEGIN
  PERFORM 1 FROM secretsd.households h WHERE h.id = p_household FOR UPDATE;
  SELECT m.role INTO actor_role FROM secretsd.memberships m
   WHERE m.user_id = p_actor AND m.household_id = p_household;
  IF actor_role IS NULL THEN
    RAISE EXCEPTION 'household not found' USING ERRCODE = 'SD404';
  END IF;
  IF actor_role <> 'owner' THEN
    RAISE EXCEPTION 'only owners set the two-factor requirement' USING ERRCODE = 'SD403';
  END IF;
  UPDATE secretsd.households SET require_two_factor = p_required WHERE id = p_household;
  RETURN p_required;
END $$;
