-- secretsd's own schema: households, users, refresh tokens, invites, app and
-- node credentials. Secrets themselves live in the pgsecrets extension.
-- Every credential is stored as a keyed hash (HMAC-SHA256 with a pepper
-- derived from AUTH_SECRET_KEY) or, for passwords, an argon2id string.

CREATE TABLE secretsd.households (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE secretsd.users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  household_id  uuid NOT NULL REFERENCES secretsd.households (id),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON secretsd.users (lower(email));
CREATE INDEX users_household_idx ON secretsd.users (household_id);

CREATE TABLE secretsd.invites (
  code_hash    text PRIMARY KEY,
  household_id uuid NOT NULL REFERENCES secretsd.households (id) ON DELETE CASCADE,
  created_by   uuid REFERENCES secretsd.users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  role         text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  used_by      uuid REFERENCES secretsd.users (id) ON DELETE SET NULL
);

-- Refresh tokens rotate on every use. A family is one login; presenting a
-- token that was already rotated (outside the grace window) revokes the
-- whole family.
CREATE TABLE secretsd.refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  family_id   uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES secretsd.users (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  issued_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  rotated_at  timestamptz,
  replaced_by uuid,
  revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON secretsd.refresh_tokens (family_id);

CREATE TABLE secretsd.apps (
  app_id      text PRIMARY KEY CHECK (app_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  key_hash    text NOT NULL,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  rotated_at  timestamptz,
  revoked_at  timestamptz
);

-- Households an app may act for on household calls (X-Household-Id).
CREATE TABLE secretsd.app_households (
  app_id       text NOT NULL REFERENCES secretsd.apps (app_id) ON DELETE CASCADE,
  household_id uuid NOT NULL REFERENCES secretsd.households (id) ON DELETE CASCADE,
  PRIMARY KEY (app_id, household_id)
);

CREATE TABLE secretsd.nodes (
  node_id      text PRIMARY KEY CHECK (node_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  household_id uuid NOT NULL REFERENCES secretsd.households (id) ON DELETE CASCADE,
  key_hash     text NOT NULL,
  description  text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  rotated_at   timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX nodes_household_idx ON secretsd.nodes (household_id);

-- Rotates a refresh token in one round trip, under a row lock so two
-- concurrent presentations of the same token are serialised. Outcomes:
--   'rotated'  the token was current: it is marked rotated, p_new_hash issued;
--   'grace'    it was rotated less than p_grace_seconds ago (two tabs or a
--              retry racing): p_new_hash is issued in the same family and
--              nothing is revoked;
--   'reused'   it was rotated earlier than that: the whole family is revoked
--              (a stolen token was replayed, or the thief's was);
--   'invalid'  unknown, expired, revoked, or its user is disabled.
CREATE FUNCTION secretsd.rotate_refresh_token(p_presented_hash text, p_new_hash text,
                                              p_ttl_days int, p_grace_seconds int)
RETURNS TABLE (outcome text, user_id uuid, household_id uuid, role text)
LANGUAGE plpgsql AS $$
DECLARE
  t secretsd.refresh_tokens%ROWTYPE;
  u secretsd.users%ROWTYPE;
  new_id uuid := gen_random_uuid();
BEGIN
  SELECT * INTO t FROM secretsd.refresh_tokens r WHERE r.token_hash = p_presented_hash FOR UPDATE;
  IF NOT FOUND OR t.revoked_at IS NOT NULL OR t.expires_at <= now() THEN
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
