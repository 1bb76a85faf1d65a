-- The sweep of spent buckets in rate_limit_take (0006) could deadlock: the
-- taking transaction holds its own bucket's row, and a plain DELETE of
-- every spent bucket waited for rows that other takes held, which could be
-- waiting for this one's sweep in turn (two concurrent logins take the
-- address and the account buckets). PostgreSQL broke the cycle after
-- deadlock_timeout by failing one login with 40P01, a 500.
--
-- The sweep is now its own function and never waits: it skips rows another
-- transaction holds (a later sweep gets them), so a take waits at most for
-- its own bucket's row, whose holder waits for nothing.
CREATE FUNCTION secretsd.rate_limit_sweep() RETURNS void
LANGUAGE sql AS $$
  DELETE FROM secretsd.rate_limits d
   USING (SELECT limit_name, key_hash FROM secretsd.rate_limits
           WHERE full_at < clock_timestamp()
           FOR UPDATE SKIP LOCKED) spent
   WHERE d.limit_name = spent.limit_name AND d.key_hash = spent.key_hash
$$;

CREATE OR REPLACE FUNCTION secretsd.rate_limit_take(p_name text, p_key text, p_events int, p_window interval)
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
      PERFORM secretsd.rate_limit_sweep();
    END IF;
    RETURN 0;
  END IF;
  SELECT r.full_at INTO ahead FROM secretsd.rate_limits r
   WHERE r.limit_name = p_name AND r.key_hash = p_key;
  RETURN greatest(1, ceil(extract(epoch FROM ahead - now_ts - tolerance))::int);
END $$;
