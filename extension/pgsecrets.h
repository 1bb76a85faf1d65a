/*
 * pgsecrets.h — declarations shared by the extension's C files.
 *
 * One concern per file:
 *   pgsecrets.c  module entry point, settings (GUCs)
 *   keyfile.c    the key file grammar (plain C, shared with secretsctl)
 *   keyring.c    root keys: key source, locked memory, data keys, reloads
 *                that every backend sees alike (shared memory)
 *   keycheck.c   key fingerprints: a key a database does not know is refused
 *   owner_spi.c  queries on the extension's own tables as pgsecrets_owner
 *   nonce_pool.c random nonces drawn in batches
 *   ciphertext.c the ciphertext format and its AEAD seal/open (plain C,
 *                shared with the fuzzer)
 *   aead.c       the SQL functions over it: encrypt_secret / decrypt_secret / rewrap
 *   context.c    which household a session may act for, and with what right
 *   redact.c     keeps statements that carry secret values out of the log
 *   audit.c      the audit log's keyed hash chain and its append-only guard
 */
#ifndef PGSECRETS_H
#define PGSECRETS_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/uuid.h"

#include "keyfile.h"

#define PGSECRETS_FINGERPRINT_BYTES 32

/* SQLSTATE class "SE" (implementation-defined): documented in README.md. */
#define ERRCODE_PGSECRETS_DECRYPT_FAILED	MAKE_SQLSTATE('S','E','0','0','1')
#define ERRCODE_PGSECRETS_NO_KEY			MAKE_SQLSTATE('S','E','0','0','2')
#define ERRCODE_PGSECRETS_NO_HOUSEHOLD		MAKE_SQLSTATE('S','E','0','0','3')
#define ERRCODE_PGSECRETS_BAD_KEY_FILE		MAKE_SQLSTATE('S','E','0','0','4')
#define ERRCODE_PGSECRETS_CONCURRENT_CHANGE	MAKE_SQLSTATE('S','E','0','0','5')
#define ERRCODE_PGSECRETS_RETENTION_PASSED	MAKE_SQLSTATE('S','E','0','0','6')
#define ERRCODE_PGSECRETS_AUDIT_APPEND_ONLY	MAKE_SQLSTATE('S','E','0','0','7')
#define ERRCODE_PGSECRETS_KEY_MISMATCH		MAKE_SQLSTATE('S','E','0','0','8')
#define ERRCODE_PGSECRETS_ROLE_REFUSED		MAKE_SQLSTATE('S','E','0','0','9')

/* settings, defined in pgsecrets.c */
extern char *pgsecrets_key_file;
extern char *pgsecrets_key_command;

/* What a root key is used for: a seal records its fingerprint (keycheck.c). */
typedef enum KeyUse
{
	KEY_OPEN,
	KEY_SEAL
} KeyUse;

/* keyring.c */
extern void keyring_init_postmaster(void);
extern void keyring_setting_changed(const char *file, const char *command);
extern void keyring_require_loaded(void);
extern void keyring_sync_quietly(void);
extern uint64 keyring_generation(void);
extern bool keyring_data_key(uint32 version, const pg_uuid_t *household, KeyUse use,
							 unsigned char out[PGSECRETS_KEY_BYTES]);
extern bool keyring_active_version(uint32 *version);
extern int	keyring_versions(uint32 *versions, bool *active, int max);
/* Starts a materialized SRF and returns the loaded versions into arrays of
 * PGSECRETS_MAX_KEYS (never raises: status must show on a keyless server). */
extern int	keyring_versions_for_srf(FunctionCallInfo fcinfo, uint32 *versions, bool *active);
extern bool keyring_subkey(uint32 version, const pg_uuid_t *household,
						   const unsigned char personal[16], KeyUse use,
						   unsigned char out[PGSECRETS_KEY_BYTES]);
extern int	keyring_candidates(uint32 version, unsigned char fps[][PGSECRETS_FINGERPRINT_BYTES], int max);
extern void keyring_choose(uint32 version, int which);
extern void keyring_fingerprint_in_use(uint32 version, unsigned char out[PGSECRETS_FINGERPRINT_BYTES]);
extern void keyring_fingerprint_text(const unsigned char fp[PGSECRETS_FINGERPRINT_BYTES], char out[17]);

/* keycheck.c */
extern void keycheck_version(uint32 version, KeyUse use);
extern void keycheck_forget(void);
extern void keycheck_install_callbacks(void);

/* owner_spi.c */
extern void run_as_owner(void (*fn) (void *arg), void *arg);

/*
 * context.c: what a privilege (read, audit, write, admin) lets a session do
 * in its household. The numbers are row_visible()'s min_privilege argument
 * (1 to 3 since 0.1.0, 4 and 5 since 0.3.0).
 */
typedef enum Capability
{
	CAP_METADATA = 1,			/* see secrets and their metadata */
	CAP_WRITE = 2,				/* create, change, delete, restore, roll back */
	CAP_ADMIN = 3,				/* purge, household settings */
	CAP_AUDIT = 4,				/* read the audit trail */
	CAP_VALUES = 5				/* read values in clear */
} Capability;

extern void context_require_access(const pg_uuid_t *household, Capability needed);
extern void context_install_callbacks(void);

/* redact.c */
extern void redact_install_hook(void);
extern void redact_note_value_use(void);

/* nonce_pool.c */
extern void nonce_pool_take(unsigned char *out, size_t len);

#endif							/* PGSECRETS_H */
