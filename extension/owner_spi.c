/*
 * owner_spi.c — runs SPI queries as pgsecrets_owner, for the C code that
 * reads or writes the extension's own tables (household grants, key
 * fingerprints) whatever rights its caller has.
 */
#include "pgsecrets.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"

/*
 * Calls fn(arg) between SPI_connect and SPI_finish, as pgsecrets_owner in a
 * security-restricted operation. The queries must not resolve any name
 * through the caller's search_path, where a schema of the caller's could
 * define an "=" that would then run with the owner's rights: the path is
 * pinned to pg_catalog, pg_temp for the call, and callers qualify every
 * name and operator. An error unwinds the GUC nest level with the
 * (sub)transaction.
 */
void
run_as_owner(void (*fn) (void *arg), void *arg)
{
	Oid			owner = get_role_oid("pgsecrets_owner", true);
	Oid			save_userid;
	int			save_sec;

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"pgsecrets_owner\" does not exist"),
				 errhint("Reinstall the pgsecrets extension.")));

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		int			save_nestlevel = NewGUCNestLevel();

		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pgsecrets: SPI_connect failed");
		fn(arg);
		SPI_finish();
		AtEOXact_GUC(true, save_nestlevel);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}
