/*
 * ciphertext.c — the ciphertext format's pure functions (see ciphertext.h).
 * Compiled into the extension and into the fuzzer.
 */
#include "ciphertext.h"

#include <string.h>

static void
put_uint32(unsigned char *p, uint32_t v)
{
	p[0] = (v >> 24) & 0xff;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

uint32_t
ciphertext_key_version(const unsigned char *header)
{
	const unsigned char *p = header + 2;

	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

CiphertextHeaderStatus
ciphertext_check_header(const unsigned char *in, size_t inlen, uint32_t *version)
{
	if (inlen < CIPHERTEXT_HEADER_BYTES + CIPHERTEXT_TAG_BYTES || in[0] != CIPHERTEXT_FORMAT_VERSION)
		return CIPHERTEXT_MALFORMED;
	if (in[1] != CIPHERTEXT_ALG_XCHACHA20POLY1305)
		return CIPHERTEXT_UNKNOWN_ALGORITHM;
	*version = ciphertext_key_version(in);
	return CIPHERTEXT_OK;
}

void
ciphertext_write_header(unsigned char *out, uint32_t version)
{
	out[0] = CIPHERTEXT_FORMAT_VERSION;
	out[1] = CIPHERTEXT_ALG_XCHACHA20POLY1305;
	put_uint32(out + 2, version);
}

size_t
ciphertext_ad_len(size_t ctxlen)
{
	return CIPHERTEXT_HEADER_BYTES + CIPHERTEXT_HOUSEHOLD_BYTES + ctxlen;
}

void
ciphertext_build_ad(unsigned char *ad, const unsigned char *header,
					const unsigned char *household,
					const unsigned char *context, size_t ctxlen)
{
	memcpy(ad, header, CIPHERTEXT_HEADER_BYTES);
	memcpy(ad + CIPHERTEXT_HEADER_BYTES, household, CIPHERTEXT_HOUSEHOLD_BYTES);
	if (ctxlen > 0)
		memcpy(ad + CIPHERTEXT_HEADER_BYTES + CIPHERTEXT_HOUSEHOLD_BYTES, context, ctxlen);
}

bool
ciphertext_open(unsigned char *plain, const unsigned char *in, size_t inlen,
				const unsigned char *data_key, const unsigned char *ad, size_t adlen)
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
													  in + CIPHERTEXT_HEADER_BYTES,
													  inlen - CIPHERTEXT_HEADER_BYTES,
													  ad, adlen,
													  in + CIPHERTEXT_NONCE_OFFSET,
													  data_key) == 0;
}
