/*
 * pgsecrets.c — module entry point and settings.
 *
 * The root key is read by the postmaster when the library is preloaded
 * (shared_preload_libraries), so every backend inherits it without reading
 * the file again; a backend that loads the library on its own reads it lazily.
 */
#include "pgsecrets.h"

#include <sodium.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *pgsecrets_key_file = NULL;
char	   *pgsecrets_key_command = NULL;

void		_PG_init(void);

/*
 * A changed key setting (or a reload) must be picked up by the next crypto
 * call, so the ring is only marked stale here: assign hooks may not fail.
 */
static void
assign_key_source(const char *newval, void *extra)
{
	keyring_mark_stale();
}

/*
 * Defines the settings, starts libsodium, loads the key ring in the
 * postmaster, and installs the log redaction hook.
 */
void
_PG_init(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errmsg("pgsecrets: libsodium could not be initialised")));

	DefineCustomStringVariable("pgsecrets.key_file",
							   "File holding the pgsecrets root key(s).",
							   "Relative paths are relative to the data directory. "
							   "The file must not be readable by other users.",
							   &pgsecrets_key_file,
							   NULL,
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, assign_key_source, NULL);

	DefineCustomStringVariable("pgsecrets.key_command",
							   "Command whose standard output is a pgsecrets key file.",
							   "Used instead of pgsecrets.key_file when set, like ssl_passphrase_command.",
							   &pgsecrets_key_command,
							   NULL,
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, assign_key_source, NULL);

	MarkGUCPrefixReserved("pgsecrets");

	if (process_shared_preload_libraries_in_progress)
		keyring_init_postmaster();

	redact_install_hook();
	context_install_callbacks();
}
