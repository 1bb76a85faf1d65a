/*
 * pgsecrets.c — module entry point and settings.
 *
 * The root key is read by the postmaster when the library is preloaded
 * (shared_preload_libraries), so every backend inherits it, and reloads are
 * published through shared memory (keyring.c); a backend that loads the
 * library on its own reads the key source lazily.
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
 * The key settings were assigned (at start, at a reload). An assign hook
 * runs before the variable changes, so the new value is passed on beside
 * the other setting's current one; the keyring decides when to read.
 */
static void
assign_key_file(const char *newval, void *extra)
{
	keyring_setting_changed(newval, pgsecrets_key_command);
}

static void
assign_key_command(const char *newval, void *extra)
{
	keyring_setting_changed(pgsecrets_key_file, newval);
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
							   NULL, assign_key_file, NULL);

	DefineCustomStringVariable("pgsecrets.key_command",
							   "Command whose standard output is a pgsecrets key file.",
							   "Used instead of pgsecrets.key_file when set, like ssl_passphrase_command.",
							   &pgsecrets_key_command,
							   NULL,
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, assign_key_command, NULL);

	MarkGUCPrefixReserved("pgsecrets");

	if (process_shared_preload_libraries_in_progress)
		keyring_init_postmaster();

	redact_install_hook();
	context_install_callbacks();
	keycheck_install_callbacks();
}
