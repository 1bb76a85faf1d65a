/*
 * aead.c — the ciphertext format and the SQL functions that produce and
 * open it.
 *
 * Format version 1 (all integers big-endian):
 *
 *     offset  size  field
 *          0     1  format version (1)
 *          1     1  algorithm (1 = XChaCha20-Poly1305-IETF)
 *          2     4  root key version
 *          6    24  nonce (random)
 *         30     n  ciphertext
 *       30+n    16  Poly1305 tag
 *
 * The associated data is the 30-byte header, then the 16-byte household id,
 * then the caller's context string. Changing any header byte, decrypting
 * under another household or another context, or moving the value to
 * another row (whose context differs) fails authentication.
 */
#include "pgsecrets.h"

#include <sodium.h>

#include "ciphertext.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* The format itself lives in ciphertext.c (plain C, shared with the fuzzer). */
#define HEADER_BYTES CIPHERTEXT_HEADER_BYTES
#define TAG_BYTES CIPHERTEXT_TAG_BYTES
#define AD_STACK_BYTES 512

PG_FUNCTION_INFO_V1(pgsecrets_encrypt_secret);
PG_FUNCTION_INFO_V1(pgsecrets_decrypt_secret);
PG_FUNCTION_INFO_V1(pgsecrets_ciphertext_key_version);
PG_FUNCTION_INFO_V1(pgsecrets_rewrap);

/*
 * Builds header || household || context. Small inputs use the caller's
 * stack buffer so the per-row path does not allocate.
 */
static unsigned char *
build_ad(unsigned char *stackbuf, const unsigned char *header,
		 const pg_uuid_t *household, const text *context, size_t *adlen)
{
	size_t		ctxlen = VARSIZE_ANY_EXHDR(context);
	size_t		len = ciphertext_ad_len(ctxlen);
	unsigned char *ad = (len <= AD_STACK_BYTES) ? stackbuf : palloc(len);

	StaticAssertStmt(UUID_LEN == CIPHERTEXT_HOUSEHOLD_BYTES, "household id size");
	ciphertext_build_ad(ad, header, household->data,
						(const unsigned char *) VARDATA_ANY(context), ctxlen);
	*adlen = len;
	return ad;
}

static void
decrypt_failed(const char *detail_fmt, uint32 arg) pg_attribute_noreturn();

/*
 * One error for every way a ciphertext can fail to open, so the message
 * never tells an attacker which byte was wrong.
 */
static void
decrypt_failed(const char *detail_fmt, uint32 arg)
{
	if (detail_fmt)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_DECRYPT_FAILED),
				 errmsg("secret could not be decrypted"),
				 errdetail_internal(detail_fmt, arg)));
	ereport(ERROR,
			(errcode(ERRCODE_PGSECRETS_DECRYPT_FAILED),
			 errmsg("secret could not be decrypted")));
}

/*
 * Checks the header a ciphertext must start with and returns its root key
 * version. A short or unknown input gets the one decryption error.
 */
static uint32
header_key_version(const unsigned char *in, size_t inlen)
{
	uint32_t	version = 0;

	switch (ciphertext_check_header(in, inlen, &version))
	{
		case CIPHERTEXT_OK:
			break;
		case CIPHERTEXT_MALFORMED:
			decrypt_failed(NULL, 0);
		case CIPHERTEXT_UNKNOWN_ALGORITHM:
			decrypt_failed("Unknown algorithm %u.", in[1]);
	}
	return version;
}

/*
 * Opens a checked ciphertext into plain (inlen - HEADER_BYTES - TAG_BYTES
 * bytes). The associated data is rebuilt from the ciphertext's own header,
 * so a changed header byte fails like a changed tag.
 */
static bool
open_value(unsigned char *plain, const unsigned char *in, size_t inlen,
		   const unsigned char *data_key, const pg_uuid_t *household, const text *context)
{
	unsigned char adbuf[AD_STACK_BYTES];
	size_t		adlen;
	unsigned char *ad = build_ad(adbuf, in, household, context, &adlen);
	bool		opened = ciphertext_open(plain, in, inlen, data_key, ad, adlen);

	if (ad != adbuf)
		pfree(ad);
	return opened;
}

/*
 * Seals plain under root key version `version` (whose household data key is
 * data_key) with a fresh nonce: the one place the format is written.
 */
static bytea *
seal_value(uint32 version, const unsigned char *data_key,
		   const unsigned char *plain, size_t ptlen,
		   const pg_uuid_t *household, const text *context)
{
	unsigned char adbuf[AD_STACK_BYTES];
	size_t		adlen;
	unsigned char *ad;
	bytea	   *result = palloc(VARHDRSZ + HEADER_BYTES + ptlen + TAG_BYTES);
	unsigned char *out = (unsigned char *) VARDATA(result);

	SET_VARSIZE(result, VARHDRSZ + HEADER_BYTES + ptlen + TAG_BYTES);
	ciphertext_write_header(out, version);
	nonce_pool_take(out + CIPHERTEXT_NONCE_OFFSET, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	ad = build_ad(adbuf, out, household, context, &adlen);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + HEADER_BYTES, NULL, plain, ptlen,
											   ad, adlen, NULL, out + CIPHERTEXT_NONCE_OFFSET,
											   data_key);
	if (ad != adbuf)
		pfree(ad);
	return result;
}

static void
no_active_key(void) pg_attribute_noreturn();

static void
no_active_key(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGSECRETS_NO_KEY),
			 errmsg("no active pgsecrets root key is loaded")));
}

/*
 * encrypt_secret(plaintext text, household_id uuid, context text) → bytea,
 * under the active root key version.
 */
Datum
pgsecrets_encrypt_secret(PG_FUNCTION_ARGS)
{
	text	   *plaintext = PG_GETARG_TEXT_PP(0);
	pg_uuid_t  *household = PG_GETARG_UUID_P(1);
	text	   *context = PG_GETARG_TEXT_PP(2);
	unsigned char data_key[PGSECRETS_KEY_BYTES];
	uint32		version;
	bytea	   *result;

	redact_note_value_use();
	keyring_require_loaded();
	context_require_access(household, CAP_WRITE);
	if (!keyring_active_version(&version) || !keyring_data_key(version, household, KEY_SEAL, data_key))
		no_active_key();
	result = seal_value(version, data_key, (const unsigned char *) VARDATA_ANY(plaintext),
						VARSIZE_ANY_EXHDR(plaintext), household, context);
	sodium_memzero(data_key, sizeof(data_key));
	PG_RETURN_BYTEA_P(result);
}

/*
 * decrypt_secret(ciphertext bytea, household_id uuid, context text) → text.
 */
Datum
pgsecrets_decrypt_secret(PG_FUNCTION_ARGS)
{
	bytea	   *ciphertext = PG_GETARG_BYTEA_PP(0);
	pg_uuid_t  *household = PG_GETARG_UUID_P(1);
	text	   *context = PG_GETARG_TEXT_PP(2);
	const unsigned char *in = (const unsigned char *) VARDATA_ANY(ciphertext);
	size_t		inlen = VARSIZE_ANY_EXHDR(ciphertext);
	unsigned char data_key[PGSECRETS_KEY_BYTES];
	size_t		ptlen;
	uint32		version;
	text	   *result;
	bool		opened;

	redact_note_value_use();
	keyring_require_loaded();
	context_require_access(household, CAP_VALUES);
	version = header_key_version(in, inlen);
	if (!keyring_data_key(version, household, KEY_OPEN, data_key))
		decrypt_failed("Root key version %u is not loaded.", version);

	ptlen = inlen - HEADER_BYTES - TAG_BYTES;
	result = palloc(VARHDRSZ + ptlen + 1);
	opened = open_value((unsigned char *) VARDATA(result), in, inlen, data_key, household, context);
	sodium_memzero(data_key, sizeof(data_key));
	if (!opened || !pg_verifymbstr(VARDATA(result), (int) ptlen, true))
		decrypt_failed(NULL, 0);
	SET_VARSIZE(result, VARHDRSZ + ptlen);
	PG_RETURN_TEXT_P(result);
}

/*
 * ciphertext_key_version(bytea) → int: which root key a value is under,
 * for key_status() and rotation. Reads the header only.
 */
Datum
pgsecrets_ciphertext_key_version(PG_FUNCTION_ARGS)
{
	bytea	   *ciphertext = PG_GETARG_BYTEA_PP(0);
	const unsigned char *in = (const unsigned char *) VARDATA_ANY(ciphertext);
	uint32_t	version;

	/* An unknown algorithm still names its key version: only the format is checked. */
	if (ciphertext_check_header(in, VARSIZE_ANY_EXHDR(ciphertext), &version) == CIPHERTEXT_MALFORMED)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) ciphertext_key_version(in));
}

/*
 * rewrap(ciphertext bytea, household_id uuid, context text) → bytea: the
 * same value re-encrypted under the active root key version, for key
 * rotation. The plaintext lives only in this function's buffer (wiped before
 * it is freed) and never becomes an SQL datum. A value already under the
 * active version is returned as it is, so a rotation can be re-run safely.
 * Superusers only: it opens any household's values.
 */
Datum
pgsecrets_rewrap(PG_FUNCTION_ARGS)
{
	bytea	   *ciphertext = PG_GETARG_BYTEA_PP(0);
	pg_uuid_t  *household = PG_GETARG_UUID_P(1);
	text	   *context = PG_GETARG_TEXT_PP(2);
	const unsigned char *in = (const unsigned char *) VARDATA_ANY(ciphertext);
	size_t		inlen = VARSIZE_ANY_EXHDR(ciphertext);
	unsigned char data_key[PGSECRETS_KEY_BYTES];
	unsigned char *plain;
	size_t		ptlen;
	uint32		old_version;
	uint32		new_version;
	bytea	   *result;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to rewrap secrets"),
				 errdetail("Only superusers may call secrets.rewrap().")));
	keyring_require_loaded();
	old_version = header_key_version(in, inlen);
	if (!keyring_active_version(&new_version))
		no_active_key();
	if (old_version == new_version)
		PG_RETURN_BYTEA_P(ciphertext);
	if (!keyring_data_key(old_version, household, KEY_OPEN, data_key))
		decrypt_failed("Root key version %u is not loaded.", old_version);

	ptlen = inlen - HEADER_BYTES - TAG_BYTES;
	plain = palloc(ptlen + 1);
	if (!open_value(plain, in, inlen, data_key, household, context))
	{
		sodium_memzero(data_key, sizeof(data_key));
		sodium_memzero(plain, ptlen + 1);
		decrypt_failed(NULL, 0);
	}
	/* seal under the active version, with the same household and context */
	if (!keyring_data_key(new_version, household, KEY_SEAL, data_key))
	{
		sodium_memzero(plain, ptlen + 1);
		no_active_key();
	}
	result = seal_value(new_version, data_key, plain, ptlen, household, context);
	sodium_memzero(data_key, sizeof(data_key));
	sodium_memzero(plain, ptlen + 1);
	pfree(plain);
	PG_RETURN_BYTEA_P(result);
}
