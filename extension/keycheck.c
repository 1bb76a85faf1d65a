/*
 * keycheck.c — a root key version is used in a database only if it is the
 * key that database knows.
 *
 * secrets.key_fingerprints records, per key version, the fingerprint (a
 * one-way check value, keyring.c's fingerprint_of) of the key that first
 * sealed a value or an audit MAC in this database. Before a key version
 * opens or seals anything, its fingerprint is compared with the recorded
 * one, once per backend and key generation:
 *   - recorded and equal (or equal to a key the ring kept from before a
 *     reload): used;
 *   - recorded and different: refused with SQLSTATE SE008, naming the
 *     version; nothing is ever sealed under it and nothing reads as
 *     "could not be decrypted";
 *   - not recorded: opening proceeds; the first seal records it, in the
 *     sealing transaction (a rollback takes the record back with the value).
 * A database without the table (schema 0.1.0 before ALTER EXTENSION UPDATE)
 * is served as before, unchecked.
 */
#include "pgsecrets.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

typedef enum KeyCheckState
{
	KC_UNKNOWN = 0,
	KC_MATCH,
	KC_UNRECORDED,
	KC_PENDING,					/* recorded by this transaction, not yet committed */
	KC_REFUSED,
	KC_UNCHECKED				/* no fingerprint table (schema 0.1.0) */
} KeyCheckState;

typedef struct KeyCheck
{
	uint32		version;
	KeyCheckState state;
	bool		noted;			/* the server log already says why */
	bool		has_recorded;
	unsigned char recorded[PGSECRETS_FINGERPRINT_BYTES];
} KeyCheck;

typedef struct FingerprintQuery
{
	uint32		version;
	bool		insert;
	unsigned char fingerprint[PGSECRETS_FINGERPRINT_BYTES];
	bool		found;
	unsigned char recorded[PGSECRETS_FINGERPRINT_BYTES];
} FingerprintQuery;

static KeyCheck checks[PGSECRETS_MAX_KEYS];
static int	nchecks = 0;

/* A new ring (reload): every version is checked again. */
void
keycheck_forget(void)
{
	nchecks = 0;
}

static KeyCheck *
find_check(uint32 version)
{
	for (int i = 0; i < nchecks; i++)
		if (checks[i].version == version)
			return &checks[i];
	if (nchecks == PGSECRETS_MAX_KEYS)
		nchecks = 0;			/* more versions than a ring holds: start over */
	memset(&checks[nchecks], 0, sizeof(KeyCheck));
	checks[nchecks].version = version;
	return &checks[nchecks++];
}

static bool
fingerprint_table_exists(void)
{
	Oid			nsp = get_namespace_oid("secrets", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("key_fingerprints", nsp));
}

static void
fingerprint_query(void *arg)
{
	FingerprintQuery *q = (FingerprintQuery *) arg;
	Oid			types[2] = {INT8OID, BYTEAOID};
	Datum		values[2];
	bytea	   *fp = palloc(VARHDRSZ + PGSECRETS_FINGERPRINT_BYTES);

	SET_VARSIZE(fp, VARHDRSZ + PGSECRETS_FINGERPRINT_BYTES);
	memcpy(VARDATA(fp), q->fingerprint, PGSECRETS_FINGERPRINT_BYTES);
	values[0] = Int64GetDatum((int64) q->version);
	values[1] = PointerGetDatum(fp);
	if (q->insert &&
		SPI_execute_with_args("INSERT INTO secrets.key_fingerprints (key_version, fingerprint) "
							  "VALUES ($1, $2) ON CONFLICT (key_version) DO NOTHING",
							  2, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pgsecrets: recording a key fingerprint failed");
	if (SPI_execute_with_args("SELECT fingerprint FROM secrets.key_fingerprints "
							  "WHERE key_version OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, !q->insert, 1) != SPI_OK_SELECT)
		elog(ERROR, "pgsecrets: reading key fingerprints failed");
	q->found = SPI_processed == 1;
	if (q->found)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		bytea	   *r = isnull ? NULL : DatumGetByteaPP(d);

		q->found = r != NULL && VARSIZE_ANY_EXHDR(r) == PGSECRETS_FINGERPRINT_BYTES;
		if (q->found)
			memcpy(q->recorded, VARDATA_ANY(r), PGSECRETS_FINGERPRINT_BYTES);
	}
}

static void
note_refusal(KeyCheck *c, const unsigned char *file_fp)
{
	char		have[17],
				want[17];

	if (c->noted)
		return;
	c->noted = true;
	keyring_fingerprint_text(file_fp, have);
	keyring_fingerprint_text(c->recorded, want);
	ereport(LOG,
			(errmsg("pgsecrets: root key version %u refused in database \"%s\": the key file's key has fingerprint %s, this database recorded %s",
					c->version, get_database_name(MyDatabaseId), have, want)));
}

/* Looks the version up and picks the loaded candidate the database knows. */
static void
decide(KeyCheck *c)
{
	unsigned char fps[PGSECRETS_MAX_KEYS + 1][PGSECRETS_FINGERPRINT_BYTES];
	int			n = keyring_candidates(c->version, fps, lengthof(fps));
	FingerprintQuery q = {0};

	if (n == 0 || !fingerprint_table_exists())
	{
		c->state = KC_UNCHECKED;
		return;
	}
	q.version = c->version;
	memcpy(q.fingerprint, fps[0], PGSECRETS_FINGERPRINT_BYTES);
	run_as_owner(fingerprint_query, &q);
	c->has_recorded = q.found;
	if (!q.found)
	{
		keyring_choose(c->version, 0);
		c->state = KC_UNRECORDED;
		return;
	}
	memcpy(c->recorded, q.recorded, PGSECRETS_FINGERPRINT_BYTES);
	for (int i = 0; i < n; i++)
		if (memcmp(fps[i], q.recorded, PGSECRETS_FINGERPRINT_BYTES) == 0)
		{
			keyring_choose(c->version, i);
			c->state = KC_MATCH;
			if (i > 0 && !c->noted)
			{
				c->noted = true;
				ereport(LOG,
						(errmsg("pgsecrets: root key version %u: the key file's key does not match database \"%s\"; the key loaded before the last reload, which does, stays in use",
								c->version, get_database_name(MyDatabaseId))));
			}
			return;
		}
	c->state = KC_REFUSED;
	note_refusal(c, fps[0]);
}

/* The first seal under a version records its fingerprint. */
static void
record(KeyCheck *c)
{
	unsigned char fps[1][PGSECRETS_FINGERPRINT_BYTES];
	FingerprintQuery q = {0};

	/* A read-only transaction seals nothing that lasts: record nothing. */
	if (XactReadOnly || RecoveryInProgress() ||
		keyring_candidates(c->version, fps, 1) != 1)
		return;
	q.version = c->version;
	q.insert = true;
	memcpy(q.fingerprint, fps[0], PGSECRETS_FINGERPRINT_BYTES);
	run_as_owner(fingerprint_query, &q);
	c->has_recorded = q.found;
	if (q.found)
		memcpy(c->recorded, q.recorded, PGSECRETS_FINGERPRINT_BYTES);
	if (q.found && memcmp(q.recorded, fps[0], PGSECRETS_FINGERPRINT_BYTES) == 0)
		c->state = KC_PENDING;
	else
	{
		c->state = KC_REFUSED;
		note_refusal(c, fps[0]);
	}
}

/*
 * Guards every use of a root key version (see the file comment). Raises
 * SE008 when the loaded key is not the one this database recorded.
 */
void
keycheck_version(uint32 version, KeyUse use)
{
	KeyCheck   *c = find_check(version);
	char		have[17],
				want[17];
	unsigned char fps[1][PGSECRETS_FINGERPRINT_BYTES];

	if (c->state == KC_UNKNOWN)
		decide(c);
	if (c->state == KC_UNRECORDED && use == KEY_SEAL)
		record(c);
	if (c->state != KC_REFUSED)
		return;
	(void) keyring_candidates(version, fps, 1);
	keyring_fingerprint_text(fps[0], have);
	keyring_fingerprint_text(c->recorded, want);
	ereport(ERROR,
			(errcode(ERRCODE_PGSECRETS_KEY_MISMATCH),
			 errmsg("root key version %u does not match this database", version),
			 errdetail("The key file's key for version %u has fingerprint %s; this database recorded %s when that version first sealed a value.",
					   version, have, want),
			 errhint("Restore the key file that belongs to this database and reload the server; nothing is sealed under the refused key.")));
}

/*
 * A transaction that aborts may have taken back a fingerprint it recorded:
 * check again. A committed one makes its records final.
 */
static void
keycheck_xact_callback(XactEvent event, void *arg)
{
	for (int i = 0; i < nchecks; i++)
	{
		switch (event)
		{
			case XACT_EVENT_COMMIT:
			case XACT_EVENT_PARALLEL_COMMIT:
				if (checks[i].state == KC_PENDING)
					checks[i].state = KC_MATCH;
				break;
			case XACT_EVENT_ABORT:
			case XACT_EVENT_PARALLEL_ABORT:
			case XACT_EVENT_PREPARE:
				checks[i].state = KC_UNKNOWN;
				break;
			default:
				break;
		}
	}
}

static void
keycheck_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (int i = 0; i < nchecks; i++)
		if (checks[i].state == KC_PENDING)
			checks[i].state = KC_UNKNOWN;
}

void
keycheck_install_callbacks(void)
{
	RegisterXactCallback(keycheck_xact_callback, NULL);
	RegisterSubXactCallback(keycheck_subxact_callback, NULL);
}

PG_FUNCTION_INFO_V1(pgsecrets_loaded_key_fingerprints);

/*
 * loaded_key_fingerprints() → setof (key_version bigint, fingerprint text,
 * recorded_fingerprint text, state text): for each loaded version, the
 * short fingerprint of the key in use, the one this database recorded, and
 * 'match', 'not recorded', 'mismatch' or 'unchecked' (schema 0.1.0).
 * Fingerprints are one-way: they name keys, never reveal them.
 */
Datum
pgsecrets_loaded_key_fingerprints(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint32		versions[PGSECRETS_MAX_KEYS];
	bool		active[PGSECRETS_MAX_KEYS];
	int			n;

	n = keyring_versions_for_srf(fcinfo, versions, active);
	for (int i = 0; i < n; i++)
	{
		KeyCheck   *c = find_check(versions[i]);
		unsigned char fp[PGSECRETS_FINGERPRINT_BYTES];
		char		text_fp[17];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		const char *state;

		if (c->state == KC_UNKNOWN)
			decide(c);
		keyring_fingerprint_in_use(versions[i], fp);
		keyring_fingerprint_text(fp, text_fp);
		values[0] = Int64GetDatum((int64) versions[i]);
		values[1] = CStringGetTextDatum(text_fp);
		if (c->has_recorded)
		{
			keyring_fingerprint_text(c->recorded, text_fp);
			values[2] = CStringGetTextDatum(text_fp);
		}
		else
			nulls[2] = true;
		switch (c->state)
		{
			case KC_MATCH:
			case KC_PENDING:
				state = "match";
				break;
			case KC_UNRECORDED:
				state = "not recorded";
				break;
			case KC_REFUSED:
				state = "mismatch";
				break;
			default:
				state = "unchecked";
				break;
		}
		values[3] = CStringGetTextDatum(state);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgsecrets_key_fingerprint_bytes);

/*
 * key_fingerprint_bytes(version bigint) → bytea: the whole fingerprint of
 * the loaded key in use for version, or NULL. Superusers only (upgrades).
 */
Datum
pgsecrets_key_fingerprint_bytes(PG_FUNCTION_ARGS)
{
	int64		version = PG_GETARG_INT64(0);
	unsigned char fps[1][PGSECRETS_FINGERPRINT_BYTES];
	bytea	   *out;

	keyring_sync_quietly();
	if (version < 1 || version > PG_INT32_MAX ||
		keyring_candidates((uint32) version, fps, 1) != 1)
		PG_RETURN_NULL();
	keyring_fingerprint_in_use((uint32) version, fps[0]);
	out = palloc(VARHDRSZ + PGSECRETS_FINGERPRINT_BYTES);
	SET_VARSIZE(out, VARHDRSZ + PGSECRETS_FINGERPRINT_BYTES);
	memcpy(VARDATA(out), fps[0], PGSECRETS_FINGERPRINT_BYTES);
	PG_RETURN_BYTEA_P(out);
}
