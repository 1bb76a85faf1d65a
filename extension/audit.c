/*
 * audit.c — the audit log's keyed hash chain and its append-only guard.
 *
 * Each row of secrets.audit_log carries
 *     link = SHA-256(previous row's link || the row's canonical message)
 *     mac  = BLAKE2b-256 keyed with a subkey of (root key version, household)
 * computed over link (the SQL side builds the message and the link). The
 * link chain can be checked without any key, so rows written under a root
 * key that has since been retired stay covered by every later row's MAC.
 *
 * UPDATE, DELETE and TRUNCATE on the table are refused by a C trigger for
 * every role. The one exception, the retention purge, is a flag in this
 * process's memory that only secrets.purge_audit_log() sets, after checking
 * that its caller is a superuser: there is no setting to forge.
 */
#include "pgsecrets.h"

#include <sodium.h>

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define MAC_BYTES 32

PG_FUNCTION_INFO_V1(pgsecrets_audit_mac);
PG_FUNCTION_INFO_V1(pgsecrets_audit_seal);
PG_FUNCTION_INFO_V1(pgsecrets_audit_guard);
PG_FUNCTION_INFO_V1(pgsecrets_purge_audit_log);

/* BLAKE2b personalisation of the audit subkey: never equal to a data key. */
static const unsigned char audit_key_personal[crypto_generichash_blake2b_PERSONALBYTES] = "pgsecrets:audit1";

/* Set only inside pgsecrets_purge_audit_log(), for the duration of its DELETE. */
static bool purge_in_progress = false;

/* The MAC of link under (key version, household); false if not loaded. */
static bool
compute_mac(int64 version, const pg_uuid_t *household, bytea *link, KeyUse use,
			unsigned char out[MAC_BYTES])
{
	unsigned char subkey[PGSECRETS_KEY_BYTES];

	keyring_require_loaded();
	if (version < 1 || version > PG_INT32_MAX ||
		!keyring_subkey((uint32) version, household, audit_key_personal, use, subkey))
		return false;
	crypto_generichash_blake2b(out, MAC_BYTES,
							   (const unsigned char *) VARDATA_ANY(link), VARSIZE_ANY_EXHDR(link),
							   subkey, sizeof(subkey));
	sodium_memzero(subkey, sizeof(subkey));
	return true;
}

static Datum
mac_datum(FunctionCallInfo fcinfo, KeyUse use)
{
	bytea	   *result = palloc(VARHDRSZ + MAC_BYTES);

	SET_VARSIZE(result, VARHDRSZ + MAC_BYTES);
	if (!compute_mac(PG_GETARG_INT64(0), PG_GETARG_UUID_P(1), PG_GETARG_BYTEA_PP(2), use,
					 (unsigned char *) VARDATA(result)))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}

/*
 * audit_mac(key_version bigint, household_id uuid, link bytea) → bytea:
 * a row's MAC for checking it, or NULL when that root key version is not
 * loaded (the verifier then relies on later rows). Granted to no one but
 * the owner.
 */
Datum
pgsecrets_audit_mac(PG_FUNCTION_ARGS)
{
	return mac_datum(fcinfo, KEY_OPEN);
}

/*
 * audit_seal(key_version bigint, household_id uuid, link bytea) → bytea:
 * the MAC of a new entry; a seal, so the first one under a key version
 * records that key's fingerprint (keycheck.c).
 */
Datum
pgsecrets_audit_seal(PG_FUNCTION_ARGS)
{
	return mac_datum(fcinfo, KEY_SEAL);
}

/*
 * The trigger on secrets.audit_log for UPDATE, DELETE (row level) and
 * TRUNCATE (statement level): refuses them all, except the DELETEs of the
 * retention purge. Enabled ALWAYS, so session_replication_role does not
 * switch it off either.
 */
Datum
pgsecrets_audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("secrets.audit_guard() must be called as a trigger")));
	if (purge_in_progress && TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);
	ereport(ERROR,
			(errcode(ERRCODE_PGSECRETS_AUDIT_APPEND_ONLY),
			 errmsg("secrets.audit_log is append-only"),
			 errdetail("UPDATE, DELETE and TRUNCATE are refused for every role."),
			 errhint("Superusers remove entries older than a date with secrets.purge_audit_log(before).")));
	PG_RETURN_NULL();			/* not reached */
}

/*
 * purge_audit_log(before timestamptz) → bigint: the retention purge, for
 * superusers. Deletes each household's entries older than before (always
 * keeping the newest one, the head the chain continues from) and appends an
 * 'audit_purge' entry that records where the kept chain starts, so
 * verify_audit_chain() can tell a purge from rows removed by hand. The work
 * is done by secrets.audit_purge_rows(); this function only opens the door.
 */
Datum
pgsecrets_purge_audit_log(PG_FUNCTION_ARGS)
{
	TimestampTz before = PG_GETARG_TIMESTAMPTZ(0);
	int64		purged = 0;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to purge the audit log"),
				 errdetail("Only superusers may call secrets.purge_audit_log().")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgsecrets: SPI_connect failed");
	purge_in_progress = true;
	PG_TRY();
	{
		Oid			argtypes[1] = {TIMESTAMPTZOID};
		Datum		args[1] = {TimestampTzGetDatum(before)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT secrets.audit_purge_rows($1)",
								  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "pgsecrets: audit purge failed");
		purged = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	PG_FINALLY();
	{
		purge_in_progress = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(purged);
}
