-- encrypt_secret / decrypt_secret: round trips and every way to break one.
\set SHOW_CONTEXT never
-- (run as superuser: the household check is covered in 04_rls)
\set A '''aaaaaaaa-0000-0000-0000-000000000001'''
\set B '''bbbbbbbb-0000-0000-0000-000000000002'''

CREATE TEMP TABLE ct AS
SELECT secrets.encrypt_secret('hunter2-canary', :A, 'ctx') AS c;

-- Round trip.
SELECT secrets.decrypt_secret(c, :A, 'ctx') FROM ct;

-- Format: version 1, XChaCha20-Poly1305, key version 2 (the active one),
-- 30-byte header + plaintext + 16-byte tag.
SELECT get_byte(c, 0) AS format, get_byte(c, 1) AS alg,
       secrets.ciphertext_key_version(c) AS key_version,
       length(c) = 30 + length('hunter2-canary') + 16 AS length_ok
  FROM ct;

-- The plaintext does not appear in the ciphertext.
SELECT position('hunter2'::bytea IN c) AS plaintext_position FROM ct;

-- Random nonces: the same input never gives the same output.
SELECT secrets.encrypt_secret('same', :A, 'ctx') <> secrets.encrypt_secret('same', :A, 'ctx') AS differs;
-- Nonces come from a per-backend pool refilled 192 at a time: 5000
-- encryptions (26 refills) never repeat one.
SELECT count(DISTINCT substring(secrets.encrypt_secret('same', :A, 'ctx') FROM 7 FOR 24)) AS distinct_nonces
  FROM generate_series(1, 5000);

-- Empty, unicode and large values round trip.
SELECT secrets.decrypt_secret(secrets.encrypt_secret('', :A, 'ctx'), :A, 'ctx') = '' AS empty_ok;
SELECT secrets.decrypt_secret(secrets.encrypt_secret('ключ 🔑 密钥', :A, 'ctx'), :A, 'ctx');
SELECT md5(secrets.decrypt_secret(secrets.encrypt_secret(repeat('x', 1000000), :A, 'ctx'), :A, 'ctx'))
       = md5(repeat('x', 1000000)) AS large_ok;

-- NULL in, NULL out (STRICT).
SELECT secrets.encrypt_secret(NULL, :A, 'ctx') IS NULL AS null_in_null_out;

-- Wrong household, wrong context: one error, one SQLSTATE (SE001).
\set VERBOSITY sqlstate
SELECT secrets.decrypt_secret(c, :B, 'ctx') FROM ct;
SELECT secrets.decrypt_secret(c, :A, 'other') FROM ct;
SELECT secrets.decrypt_secret(c, :A, '') FROM ct;
\set VERBOSITY default
SELECT secrets.decrypt_secret(c, :B, 'ctx') FROM ct;

-- A flipped bit anywhere (header, nonce, ciphertext, tag) fails.
DO $$
DECLARE
  c bytea := (SELECT c FROM ct);
  failures int := 0;
BEGIN
  FOR i IN 0 .. length(c) - 1 LOOP
    BEGIN
      PERFORM secrets.decrypt_secret(set_byte(c, i, get_byte(c, i) # 1),
                                     'aaaaaaaa-0000-0000-0000-000000000001', 'ctx');
      RAISE NOTICE 'byte % flipped and still decrypted', i;
    EXCEPTION WHEN SQLSTATE 'SE001' THEN
      failures := failures + 1;
    END;
  END LOOP;
  RAISE NOTICE 'flipped one bit in each of % bytes: % failed to decrypt', length(c), failures;
END $$;

-- Truncated, empty and non-pgsecrets input.
\set VERBOSITY sqlstate
SELECT secrets.decrypt_secret(substring(c FROM 1 FOR 45), :A, 'ctx') FROM ct;
SELECT secrets.decrypt_secret(''::bytea, :A, 'ctx');
SELECT secrets.decrypt_secret('\x0203'::bytea, :A, 'ctx');
SELECT secrets.decrypt_secret(convert_to('hunter2-canary', 'UTF8'), :A, 'ctx');
\set VERBOSITY default

-- Swapped between keys: the same bytes relabelled as key version 1 fail,
-- and a version that is not loaded says so.
SELECT secrets.decrypt_secret(set_byte(c, 5, 1), :A, 'ctx') FROM ct;
SELECT secrets.decrypt_secret(set_byte(c, 5, 9), :A, 'ctx') FROM ct;

-- The error never contains the plaintext.
DO $$
DECLARE
  detail text;
BEGIN
  PERFORM secrets.decrypt_secret((SELECT c FROM ct), 'bbbbbbbb-0000-0000-0000-000000000002', 'ctx');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'error mentions the plaintext: %', position('hunter2' IN SQLERRM || coalesce(detail, '')) > 0;
END $$;
