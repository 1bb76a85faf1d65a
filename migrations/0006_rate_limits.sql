-- Rate limits shared by every secretsd instance on this database.
--
-- Login (per account and per client address) and registration (per client
-- address) were counted in each process: with N instances behind a load
-- balancer a client got N times the limit, and a restart forgot every count.
-- Each limit is now a GCRA token bucket (the same rule as before: max_events
-- at once, refilled evenly over the window) kept in this table.
--
-- UNLOGGED: a count is worth no WAL, and after a crash the table comes back
-- empty, which at worst forgets the last window's attempts (what a restart
-- did before). key_hash is a keyed hash of the account or address computed by
-- secretsd, so the table holds no e-mail address.
CREATE UNLOGGED TABLE secretsd.rate_limits (
  limit_name text NOT NULL,  -- the limit and its rate, e.g. login_account/10/60s
  key_hash text NOT NULL,
  -- When the bucket is full again: "theoretical arrival time" of GCRA.
  full_at timestamptz NOT NULL,
  PRIMARY KEY (limit_name, key_hash)
);
CREATE INDEX rate_limits_full_at ON secretsd.rate_limits (full_at);

-- Takes one event from the bucket (p_name, p_key) of p_events per p_window.
-- Returns 0 when taken, else the whole seconds (at least 1) until one event
-- is allowed again; a refusal takes nothing. One statement decides, under
-- the row's lock, so concurrent callers on any instance never both take the
-- last event.
CREATE FUNCTION secretsd.rate_limit_take(p_name text, p_key text, p_events int, p_window interval)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  now_ts timestamptz := clock_timestamp();
  step interval := p_window / p_events;          -- one event's refill
  tolerance interval := p_window - p_window / p_events;  -- how far full_at may run ahead
  ahead timestamptz;
BEGIN
  INSERT INTO secretsd.rate_limits AS r (limit_name, key_hash, full_at)
  VALUES (p_name, p_key, now_ts + step)
  ON CONFLICT (limit_name, key_hash) DO UPDATE
     SET full_at = greatest(r.full_at, now_ts) + step
   WHERE r.full_at - now_ts <= tolerance
  RETURNING r.full_at INTO ahead;
  IF FOUND THEN
    -- A full bucket is the same as no row: forget those now and then, so the
    -- table holds only the keys seen within their window.
    IF random() < 0.01 THEN
      DELETE FROM secretsd.rate_limits WHERE full_at < now_ts;
    END IF;
    RETURN 0;
  END IF;
  SELECT r.full_at INTO ahead FROM secretsd.rate_limits r
   WHERE r.limit_name = p_name AND r.key_hash = p_key;
  RETURN greatest(1, ceil(extract(epoch FROM ahead - now_ts - tolerance))::int);
END $$;

-- Forgets a bucket (a successful login clears its account's failures).
CREATE FUNCTION secretsd.rate_limit_reset(p_name text, p_key text) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM secretsd.rate_limits WHERE limit_name = p_name AND key_hash = p_key
$$;
