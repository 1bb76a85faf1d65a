/*
 * ciphertext.h — the ciphertext format (see aead.c's header comment) as plain
 * C with no PostgreSQL header: reading the header, building the associated
 * data and opening the AEAD. The extension (aead.c) and the fuzzer
 * (tests/fuzz/) compile the same code, so what is fuzzed is what runs.
 */
#ifndef PGSECRETS_CIPHERTEXT_H
#define PGSECRETS_CIPHERTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define CIPHERTEXT_FORMAT_VERSION 1
#define CIPHERTEXT_ALG_XCHACHA20POLY1305 1
#define CIPHERTEXT_NONCE_OFFSET 6
#define CIPHERTEXT_HEADER_BYTES (2 + 4 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define CIPHERTEXT_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define CIPHERTEXT_HOUSEHOLD_BYTES 16

typedef enum CiphertextHeaderStatus
{
	CIPHERTEXT_OK,
	CIPHERTEXT_MALFORMED,		/* too short, or an unknown format version */
	CIPHERTEXT_UNKNOWN_ALGORITHM
} CiphertextHeaderStatus;

/*
 * Checks the header a ciphertext of inlen bytes must start with; on
 * CIPHERTEXT_OK sets *version to its root key version. Reads no byte past
 * inlen.
 */
extern CiphertextHeaderStatus ciphertext_check_header(const unsigned char *in, size_t inlen,
													  uint32_t *version);

/* The root key version of a header already known to be complete. */
extern uint32_t ciphertext_key_version(const unsigned char *header);

/* Writes the header of a new ciphertext (the nonce is the caller's). */
extern void ciphertext_write_header(unsigned char *out, uint32_t version);

/* Bytes of the associated data for a context of ctxlen bytes. */
extern size_t ciphertext_ad_len(size_t ctxlen);

/*
 * Writes header || household || context into ad, which holds
 * ciphertext_ad_len(ctxlen) bytes.
 */
extern void ciphertext_build_ad(unsigned char *ad, const unsigned char *header,
								const unsigned char *household,
								const unsigned char *context, size_t ctxlen);

/*
 * Opens a checked ciphertext (ciphertext_check_header said OK) into plain,
 * which holds inlen - HEADER - TAG bytes, with ad as associated data.
 * False when authentication fails.
 */
extern bool ciphertext_open(unsigned char *plain, const unsigned char *in, size_t inlen,
							const unsigned char *data_key,
							const unsigned char *ad, size_t adlen);

#ifdef __cplusplus
}
#endif

#endif							/* PGSECRETS_CIPHERTEXT_H */
