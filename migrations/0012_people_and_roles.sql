-- People in several households, each with a role; sessions that end
-- (issue 22). The rules about members live here, in functions that lock the
-- rows they judge, so that two concurrent changes cannot both pass a check
-- that only one of them may pass (the last owner).
--
-- SQLSTATEs raised here (service/api/error.cpp maps them, by code only):
--   SD400  a role name outside the vocabulary (or an owner invite)   -> 400
--   SD403  a member whose role may not do this                        -> 403
--   SD404  not a member (the caller, or the member named)             -> 404
--   SD409  the household would lose its last owner                    -> 409
--   SE009  (the extension's "role refused") a statement acting for a
--          user who is no longer a member of the context household    -> 403

-- ---- memberships: the truth about who may do what -------------------------
CREATE TABLE secretsd.memberships (
  user_id      uuid NOT NULL REFERENCES secretsd.users (id) ON DELETE CASCADE,
  household_id uuid NOT NULL REFERENCES secretsd.households (id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'writer', 'reader', 'auditor')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, household_id)
);
CREATE INDEX memberships_household_idx ON secretsd.memberships (household_id, role);

-- Every existing member keeps what they could do: 'member' could do
-- everything to the household's secrets, which is what 'admin' may.
INSERT INTO secretsd.memberships (user_id, household_id, role, created_at)
SELECT u.id, u.household_id,
       CASE u.role WHEN 'owner' THEN 'owner' ELSE 'admin' END,
       u.created_at
  FROM secretsd.users u;

-- users.household_id stays: the household a request that names none acts
-- for (the access token's hid). users.role is dropped: the membership's role
-- is the one truth, and a stale copy would invite a check against it.
ALTER TABLE secretsd.users
  ADD COLUMN display_name text CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 200),
  ADD COLUMN instance_admin boolean NOT NULL DEFAULT false;

ALTER TABLE secretsd.households
  ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- Invites name the role the new member gets; never owner (ownership is
-- handed over by an owner changing a member's role).
ALTER TABLE secretsd.invites DROP CONSTRAINT invites_role_check;
UPDATE secretsd.invites SET role = 'admin' WHERE role = 'member';
ALTER TABLE secretsd.invites
  ALTER COLUMN role SET DEFAULT 'reader',
  ADD CONSTRAINT invites_role_check CHECK (role IN ('admin', 'writer', 'reader', 'auditor'));

-- ---- sessions: one login, the refresh-token family ---------------------------
CREATE TABLE secretsd.sessions (
  id            uuid PRIMARY KEY,  -- = refresh_tokens.family_id
  user_id       uuid NOT NULL REFERENCES secretsd.users (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz NOT NULL DEFAULT now(),
  address       text,
  user_agent    text,
  second_factor boolean NOT NULL DEFAULT false,
  ended_at      timestamptz,
  end_reason    text
);
CREATE INDEX sessions_live_user_idx ON secretsd.sessions (user_id) WHERE ended_at IS NULL;

-- Every family becomes a session, so that every refresh token belongs to
-- one: live families (a token neither revoked nor expired) stay signed in,
-- the others are recorded as ended.
INSERT INTO secretsd.sessions (id, user_id, created_at, last_used_at, ended_at, end_reason)
SELECT r.family_id, min(r.user_id::text)::uuid, min(r.issued_at), max(r.issued_at),
       CASE WHEN bool_or(r.revoked_at IS NULL AND r.expires_at > now()) THEN NULL
            ELSE coalesce(max(r.revoked_at), max(r.expires_at)) END,
       CASE WHEN bool_or(r.revoked_at IS NULL AND r.expires_at > now()) THEN NULL
            WHEN bool_or(r.revoked_at IS NOT NULL) THEN 'revoked'
            ELSE 'expired' END
  FROM secretsd.refresh_tokens r
 GROUP BY r.family_id;

ALTER TABLE secretsd.refresh_tokens
  ADD CONSTRAINT refresh_tokens_session_fkey FOREIGN KEY (family_id)
      REFERENCES secretsd.sessions (id) ON DELETE CASCADE;

-- Ends one session: its refresh tokens are revoked (after any rotation in
-- flight in the family has committed: 0003's lock) and it is marked ended.
-- True when it was live.
CREATE FUNCTION secretsd.end_session(p_session uuid, p_reason text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM secretsd.lock_refresh_family(p_session);
  UPDATE secretsd.refresh_tokens r SET revoked_at = now()
   WHERE r.family_id = p_session AND r.revoked_at IS NULL;
  UPDATE secretsd.sessions s SET ended_at = now(), end_reason = p_reason
   WHERE s.id = p_session AND s.ended_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;

-- Ends every live session of a user but `p_keep` (NULL: all); returns the
-- ended sessions' ids (for the instance's session cache).
CREATE FUNCTION secretsd.end_user_sessions(p_user uuid, p_reason text, p_keep uuid DEFAULT NULL)
RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
  sid uuid;
BEGIN
  FOR sid IN SELECT s.id FROM secretsd.sessions s
              WHERE s.user_id = p_user AND s.ended_at IS NULL
                AND (p_keep IS NULL OR s.id <> p_keep)
              ORDER BY s.id LOOP
    IF secretsd.end_session(sid, p_reason) THEN
      RETURN NEXT sid;
    END IF;
  END LOOP;
END $$;

-- Logout with a refresh token: ends its session. Returns the session's id
-- (NULL: no such token).
CREATE FUNCTION secretsd.end_session_of_refresh(p_presented_hash text, p_reason text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  family uuid;
BEGIN
  SELECT r.family_id INTO family FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM secretsd.end_session(family, p_reason);
  RETURN family;
END $$;

-- 0003's rotation, now also refusing an ended session, ending the session
-- when a rotated token is replayed, and returning the session (no role: the
-- role is a membership's, resolved per request).
DROP FUNCTION secretsd.rotate_refresh_token(text, text, int, int);
CREATE FUNCTION secretsd.rotate_refresh_token(p_presented_hash text, p_new_hash text,
                                              p_ttl_days int, p_grace_seconds int)
RETURNS TABLE (outcome text, user_id uuid, household_id uuid, session_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  family uuid;
  t secretsd.refresh_tokens%ROWTYPE;
  u secretsd.users%ROWTYPE;
  new_id uuid := gen_random_uuid();
BEGIN
  SELECT r.family_id INTO family FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  PERFORM secretsd.lock_refresh_family(family);
  SELECT * INTO t FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash FOR UPDATE;
  IF NOT FOUND OR t.revoked_at IS NOT NULL OR t.expires_at <= now()
     OR EXISTS (SELECT FROM secretsd.refresh_tokens r
                 WHERE r.family_id = t.family_id AND r.revoked_at IS NOT NULL)
     OR NOT EXISTS (SELECT FROM secretsd.sessions s WHERE s.id = t.family_id AND s.ended_at IS NULL) THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  SELECT * INTO u FROM secretsd.users x WHERE x.id = t.user_id;
  IF u.disabled_at IS NOT NULL THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  IF t.rotated_at IS NOT NULL AND now() - t.rotated_at > make_interval(secs => p_grace_seconds) THEN
    PERFORM secretsd.end_session(t.family_id, 'refresh_reuse');
    RETURN QUERY SELECT 'reused'::text, NULL::uuid, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  INSERT INTO secretsd.refresh_tokens (id, family_id, user_id, token_hash, expires_at)
  VALUES (new_id, t.family_id, t.user_id, p_new_hash, now() + make_interval(days => p_ttl_days));
  IF t.rotated_at IS NULL THEN
    UPDATE secretsd.refresh_tokens r SET rotated_at = now(), replaced_by = new_id WHERE r.id = t.id;
    RETURN QUERY SELECT 'rotated'::text, u.id, u.household_id, t.family_id;
  ELSE
    RETURN QUERY SELECT 'grace'::text, u.id, u.household_id, t.family_id;
  END IF;
END $$;

-- Replaced by end_session_of_refresh (a logout now ends the session).
DROP FUNCTION secretsd.revoke_refresh_family(text);

ALTER TABLE secretsd.users DROP COLUMN role;

-- What the authenticator needs of a session, in one round trip: whether it
-- is live (not ended, its user not disabled), its second factor, the user's
-- instance_admin, and the user's role in `p_household` (NULL: not a member,
-- or no household asked). Marks the session used at most once a minute.
CREATE FUNCTION secretsd.check_session(p_session uuid, p_user uuid, p_household uuid)
RETURNS TABLE (live boolean, second_factor boolean, instance_admin boolean, role text)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE secretsd.sessions s SET last_used_at = now()
   WHERE s.id = p_session AND s.user_id = p_user AND s.ended_at IS NULL
     AND s.last_used_at < now() - interval '1 minute';
  RETURN QUERY
  SELECT s.ended_at IS NULL AND u.disabled_at IS NULL, s.second_factor, u.instance_admin,
         (SELECT m.role FROM secretsd.memberships m
           WHERE m.user_id = u.id AND m.household_id = p_household)
    FROM secretsd.sessions s JOIN secretsd.users u ON u.id = s.user_id
   WHERE s.id = p_session AND s.user_id = p_user;
END $$;

-- The role a statement acting for `p_actor` passes to secrets.set_context.
-- `p_role` is a role name, passed through (nodes, apps, the admin), or one
-- of two markers for a user, whose membership row decides:
--   'membership'          read it (a read, possibly on a standby);
--   'membership for write' read it FOR SHARE, so a role change that is
--                         committing is waited for and its new role is the
--                         one used, and one that starts later waits for
--                         this statement's transaction.
-- Not a member (any more): SE009, the extension's refusal.
CREATE FUNCTION secretsd.context_role(p_household uuid, p_actor text, p_role text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  member uuid;
  found_role text;
BEGIN
  IF p_role IS DISTINCT FROM 'membership' AND p_role IS DISTINCT FROM 'membership for write' THEN
    RETURN p_role;
  END IF;
  IF p_actor IS NULL OR p_actor NOT LIKE 'user:%' THEN
    RAISE EXCEPTION 'a membership role needs a user actor' USING ERRCODE = '22023';
  END IF;
  member := substr(p_actor, 6)::uuid;
  IF p_role = 'membership for write' THEN
    SELECT m.role INTO found_role FROM secretsd.memberships m
     WHERE m.user_id = member AND m.household_id = p_household FOR SHARE;
  ELSE
    SELECT m.role INTO found_role FROM secretsd.memberships m
     WHERE m.user_id = member AND m.household_id = p_household;
  END IF;
  IF found_role IS NULL THEN
    RAISE EXCEPTION 'permission denied: not a member of this household' USING ERRCODE = 'SE009';
  END IF;
  RETURN found_role;
END $$;

-- GET /api/secrets/{key}'s statement (0011) with the 0.3.0 context: role
-- ($4, through context_role) and key prefix ($5, '' = none).
CREATE FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text, text, text)
RETURNS TABLE (id uuid, key text, scope text, node_id text, value_type text, description text,
               has_value boolean, version integer, created_at_ms bigint, updated_at_ms bigint,
               created_by text, updated_by text, value text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  PERFORM secrets.set_context($1, $2, NULLIF($3, ''), secretsd.context_role($1, $2, $4), NULLIF($5, ''));
  RETURN QUERY
  SELECT r.id, r.key, r.scope, r.node_id, r.value_type, r.description, r.has_value, r.version,
         (extract(epoch FROM r.created_at) * 1000)::bigint, (extract(epoch FROM r.updated_at) * 1000)::bigint,
         r.created_by, r.updated_by, r.value
    FROM secrets.read_secret($6, $7, NULLIF($8, '')) r;
END
$fn$;
-- The 0011 form set the 0.2.0 context (role admin): gone, so that nothing
-- reads a secret past a member's role.
DROP FUNCTION secretsd.get_secret_row(uuid, text, text, text, text, text);

-- ---- members: the rules, in one place ----------------------------------------
CREATE FUNCTION secretsd.check_role_name(p_role text, p_allow_owner boolean) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_role IS NULL OR p_role NOT IN ('owner', 'admin', 'writer', 'reader', 'auditor')
     OR (p_role = 'owner' AND NOT p_allow_owner) THEN
    RAISE EXCEPTION 'unknown role' USING ERRCODE = 'SD400';
  END IF;
END $$;

-- The acting user's role in the household, the household row locked so that
-- member changes of one household run one at a time. Not a member: SD404.
-- Neither owner nor admin: SD403.
CREATE FUNCTION secretsd.lock_household_for_manager(p_actor uuid, p_household uuid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  actor_role text;
BEGIN
  PERFORM 1 FROM secretsd.households h WHERE h.id = p_household FOR NO KEY UPDATE;
  SELECT m.role INTO actor_role FROM secretsd.memberships m
   WHERE m.user_id = p_actor AND m.household_id = p_household;
  IF actor_role IS NULL THEN
    RAISE EXCEPTION 'household not found' USING ERRCODE = 'SD404';
  END IF;
  IF actor_role NOT IN ('owner', 'admin') THEN
    RAISE EXCEPTION 'only owners and admins manage members' USING ERRCODE = 'SD403';
  END IF;
  RETURN actor_role;
END $$;

-- The target member's current role, after checking that the actor may
-- touch them: admins cannot touch owners. Not a member: SD404.
CREATE FUNCTION secretsd.member_role_to_manage(p_actor_role text, p_household uuid, p_target uuid)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  target_role text;
BEGIN
  SELECT m.role INTO target_role FROM secretsd.memberships m
   WHERE m.user_id = p_target AND m.household_id = p_household;
  IF target_role IS NULL THEN
    RAISE EXCEPTION 'member not found' USING ERRCODE = 'SD404';
  END IF;
  IF target_role = 'owner' AND p_actor_role <> 'owner' THEN
    RAISE EXCEPTION 'only owners manage owners' USING ERRCODE = 'SD403';
  END IF;
  RETURN target_role;
END $$;

CREATE FUNCTION secretsd.household_members(p_actor uuid, p_household uuid)
RETURNS TABLE (user_id uuid, email text, display_name text, role text, joined_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  actor_role text;
BEGIN
  SELECT m.role INTO actor_role FROM secretsd.memberships m
   WHERE m.user_id = p_actor AND m.household_id = p_household;
  IF actor_role IS NULL THEN
    RAISE EXCEPTION 'household not found' USING ERRCODE = 'SD404';
  END IF;
  IF actor_role NOT IN ('owner', 'admin') THEN
    RAISE EXCEPTION 'only owners and admins manage members' USING ERRCODE = 'SD403';
  END IF;
  RETURN QUERY
  SELECT u.id, u.email, u.display_name, m.role, m.created_at
    FROM secretsd.memberships m JOIN secretsd.users u ON u.id = m.user_id
   WHERE m.household_id = p_household
   ORDER BY m.created_at, u.id;
END $$;

-- Changes a member's role. Owners change anyone's; admins change non-owners'
-- and cannot make owners; the last owner cannot be demoted (SD409).
CREATE FUNCTION secretsd.change_member_role(p_actor uuid, p_household uuid, p_target uuid,
                                            p_role text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  actor_role text;
  target_role text;
BEGIN
  PERFORM secretsd.check_role_name(p_role, true);
  actor_role := secretsd.lock_household_for_manager(p_actor, p_household);
  target_role := secretsd.member_role_to_manage(actor_role, p_household, p_target);
  IF p_role = 'owner' AND actor_role <> 'owner' THEN
    RAISE EXCEPTION 'only owners make owners' USING ERRCODE = 'SD403';
  END IF;
  IF target_role = 'owner' AND p_role <> 'owner'
     AND (SELECT count(*) FROM secretsd.memberships m
           WHERE m.household_id = p_household AND m.role = 'owner') = 1 THEN
    RAISE EXCEPTION 'the last owner cannot be demoted' USING ERRCODE = 'SD409';
  END IF;
  UPDATE secretsd.memberships m SET role = p_role
   WHERE m.user_id = p_target AND m.household_id = p_household;
  RETURN p_role;
END $$;

-- Removes a member and ends all their sessions at once (a session is not
-- bound to one household); returns the ended sessions' ids. Their default
-- household moves to another membership if they have one.
CREATE FUNCTION secretsd.remove_member(p_actor uuid, p_household uuid, p_target uuid)
RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
  actor_role text;
  target_role text;
BEGIN
  actor_role := secretsd.lock_household_for_manager(p_actor, p_household);
  target_role := secretsd.member_role_to_manage(actor_role, p_household, p_target);
  IF target_role = 'owner'
     AND (SELECT count(*) FROM secretsd.memberships m
           WHERE m.household_id = p_household AND m.role = 'owner') = 1 THEN
    RAISE EXCEPTION 'the last owner cannot be removed' USING ERRCODE = 'SD409';
  END IF;
  DELETE FROM secretsd.memberships m WHERE m.user_id = p_target AND m.household_id = p_household;
  UPDATE secretsd.users u
     SET household_id = coalesce((SELECT m.household_id FROM secretsd.memberships m
                                   WHERE m.user_id = p_target ORDER BY m.created_at LIMIT 1),
                                 u.household_id)
   WHERE u.id = p_target AND u.household_id = p_household;
  RETURN QUERY SELECT secretsd.end_user_sessions(p_target, 'member_removed');
END $$;

-- Stores an invite to the household. Owners and admins invite, up to admin
-- (never owner: SD400); returns the expiry.
CREATE FUNCTION secretsd.create_invite(p_actor uuid, p_household uuid, p_code_hash text,
                                       p_role text, p_hours int)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  expires timestamptz;
BEGIN
  PERFORM secretsd.check_role_name(p_role, false);
  PERFORM secretsd.lock_household_for_manager(p_actor, p_household);
  INSERT INTO secretsd.invites (code_hash, household_id, created_by, role, expires_at)
  VALUES (p_code_hash, p_household, p_actor, p_role, now() + make_interval(hours => p_hours))
  RETURNING expires_at INTO expires;
  RETURN expires;
END $$;

-- ---- passwords ---------------------------------------------------------------
-- Changes a password and ends every session of the user, then starts one
-- new session (the caller's fresh token pair). Nothing when the stored hash
-- is no longer `p_old_hash` (a concurrent change won) or the user is
-- disabled. Returns the new session, the ended ones, and the user's default
-- household with their role there (for the new access token).
CREATE FUNCTION secretsd.replace_password(p_user uuid, p_old_hash text, p_new_hash text,
                                          p_refresh_hash text, p_ttl_days int,
                                          p_address text, p_user_agent text)
RETURNS TABLE (session_id uuid, ended uuid[], household_id uuid, role text)
LANGUAGE plpgsql AS $$
DECLARE
  new_session uuid := gen_random_uuid();
  ended_sessions uuid[];
BEGIN
  UPDATE secretsd.users u SET password_hash = p_new_hash
   WHERE u.id = p_user AND u.password_hash = p_old_hash AND u.disabled_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  ended_sessions := ARRAY(SELECT secretsd.end_user_sessions(p_user, 'password_changed'));
  INSERT INTO secretsd.sessions (id, user_id, address, user_agent)
  VALUES (new_session, p_user, p_address, p_user_agent);
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  VALUES (new_session, p_user, p_refresh_hash, now() + make_interval(days => p_ttl_days));
  RETURN QUERY
  SELECT new_session, ended_sessions, u.household_id,
         (SELECT m.role FROM secretsd.memberships m
           WHERE m.user_id = u.id AND m.household_id = u.household_id)
    FROM secretsd.users u WHERE u.id = p_user;
END $$;
