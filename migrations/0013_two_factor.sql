-- Two-factor sign-in (TOTP, RFC 6238) and recovery codes, and the account
-- events a person is told about (issue 22). Depends only on 0001's users.

-- One authenticator per user. The shared secret must be read back to check
-- codes, so it is not hashed: it is sealed (XChaCha20-Poly1305, key derived
-- from AUTH_SECRET_KEY with its own label, the user's id as associated data;
-- service/crypto/sealed_box.h), never stored in plain text.
-- confirmed_at NULL: enrolment begun, not yet confirmed by a first code;
-- two-factor sign-in is on only once it is set.
-- last_step: the RFC 6238 time step of the last code accepted; a code of
-- that step or an earlier one is refused (each code works once).
CREATE TABLE secretsd.user_totp (
  user_id       uuid PRIMARY KEY REFERENCES secretsd.users (id) ON DELETE CASCADE,
  secret_sealed text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  confirmed_at  timestamptz,
  last_step     bigint
);

-- Ten single-use codes per user, replaced as a set; stored as keyed hashes
-- (HMAC-SHA256 with the credential pepper, as every other credential).
CREATE TABLE secretsd.recovery_codes (
  user_id    uuid NOT NULL REFERENCES secretsd.users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- What happened to an account that its owner (not the caller) should learn
-- of: a registration attempt with their email, two-factor sign-in turned on
-- or off, a recovery code used. `address` is the client address of the
-- request; `detail` never holds a credential.
CREATE TABLE secretsd.account_events (
  id      bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES secretsd.users (id) ON DELETE CASCADE,
  at      timestamptz NOT NULL DEFAULT now(),
  kind    text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,63}$'),
  address text,
  detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX account_events_user_idx ON secretsd.account_events (user_id, at DESC);
