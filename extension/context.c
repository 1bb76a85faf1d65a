/*
 * context.c — which household the session acts for, and with what right.
 *
 * Three sources, in order:
 *   1. secrets.set_context(household, actor, node [, role, key_prefix]):
 *      for the current transaction only, and only when the session's login
 *      role is a member of pgsecrets_gateway (secretsd). An ordinary user
 *      cannot hop households by calling it, and there is no variable to
 *      forge. The role is the person's household role (0.3.0); without it
 *      the context is an admin's, as in 0.2.0.
 *   2. secrets.use_household(household [, for_session]): for the current
 *      transaction, or asked for explicitly for the session; accepted only
 *      for a household granted to the role. DISCARD ALL and RESET ALL
 *      clear it, so no pooler can hand it to another client.
 *   3. the role's only grant, when it has exactly one.
 *
 * Grants live in secrets.household_grants and are looked up once per
 * transaction (as pgsecrets_owner, so callers need no right on the table);
 * every later check in the transaction is a comparison in memory, which is
 * what keeps the row-level-security policy cheap on large scans.
 */
#include "pgsecrets.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#define ACTOR_MAX_BYTES 256
#define NODE_ID_MAX_BYTES 255
#define KEY_MAX_BYTES 255
#define ROLE_MAX_BYTES 16

PG_FUNCTION_INFO_V1(pgsecrets_set_context);
PG_FUNCTION_INFO_V1(pgsecrets_use_household);
PG_FUNCTION_INFO_V1(pgsecrets_current_household);
PG_FUNCTION_INFO_V1(pgsecrets_current_actor);
PG_FUNCTION_INFO_V1(pgsecrets_current_node);
PG_FUNCTION_INFO_V1(pgsecrets_current_privilege);
PG_FUNCTION_INFO_V1(pgsecrets_row_visible);
PG_FUNCTION_INFO_V1(pgsecrets_current_db_role);
PG_FUNCTION_INFO_V1(pgsecrets_require_privilege);
PG_FUNCTION_INFO_V1(pgsecrets_key_in_prefix);

/* A set of Capability bits: what a privilege allows. */
typedef uint32 CapabilitySet;

#define CAP(c) ((CapabilitySet) 1 << (c))
#define CAPS_NONE ((CapabilitySet) 0)
#define CAPS_READ (CAP(CAP_METADATA) | CAP(CAP_VALUES))
#define CAPS_AUDIT (CAP(CAP_METADATA) | CAP(CAP_AUDIT))
#define CAPS_WRITE (CAPS_READ | CAP(CAP_WRITE))
#define CAPS_ADMIN (CAPS_WRITE | CAP(CAP_AUDIT) | CAP(CAP_ADMIN))

/*
 * The grant vocabulary (secrets.grant_household, README "People and
 * roles"): what each privilege may do. Strongest first.
 */
static const struct
{
	const char *name;
	CapabilitySet caps;
}			privileges[] = {
	{"admin", CAPS_ADMIN},
	{"write", CAPS_WRITE},
	{"read", CAPS_READ},
	{"audit", CAPS_AUDIT},
};

/*
 * The household roles of people (secretsd's memberships) and the privilege
 * each holds: the one place this mapping lives.
 */
static const struct
{
	const char *role;
	const char *privilege;
}			household_roles[] = {
	{"owner", "admin"},
	{"admin", "admin"},
	{"writer", "write"},
	{"reader", "read"},
	{"auditor", "audit"},
};

typedef struct GatewayContext
{
	LocalTransactionId lxid;	/* valid only inside this transaction */
	SubTransactionId subid;		/* and gone if this subtransaction aborts */
	pg_uuid_t	household;
	char		actor[ACTOR_MAX_BYTES + 1];
	bool		has_node;
	char		node_id[NODE_ID_MAX_BYTES + 1];
	bool		has_role;		/* the 5-argument form named a household role */
	char		role[ROLE_MAX_BYTES + 1];
	CapabilitySet caps;
	bool		has_key_prefix;	/* a scoped app: only keys starting with it */
	char		key_prefix[KEY_MAX_BYTES + 1];
} GatewayContext;

/*
 * A household picked with use_household(): for the current transaction
 * (the default, like set_config(..., true)) or, asked for explicitly, for
 * the session. Nothing of it survives DISCARD ALL or RESET ALL, so a
 * pooler's reset query clears it.
 */
typedef struct HouseholdChoice
{
	bool		set;
	LocalTransactionId lxid;	/* transaction choice: valid only inside it */
	SubTransactionId subid;		/* and gone if this subtransaction aborts */
	Oid			outer_user;		/* a SET ROLE drops the choice */
	pg_uuid_t	household;
} HouseholdChoice;

typedef struct Resolution
{
	LocalTransactionId lxid;
	Oid			outer_user;
	uint64		generation;
	bool		is_superuser;
	bool		has_household;
	pg_uuid_t	household;
	CapabilitySet caps;
	bool		from_gateway;
} Resolution;

static GatewayContext gateway = {InvalidLocalTransactionId};
static HouseholdChoice xact_choice = {false};
static HouseholdChoice session_choice = {false};

/* The session choice as this transaction found it, restored if it aborts. */
static HouseholdChoice session_choice_before = {false};
static LocalTransactionId session_choice_changed_in = InvalidLocalTransactionId;
static SubTransactionId session_choice_subid = InvalidSubTransactionId;
static Resolution resolved = {InvalidLocalTransactionId};
static uint64 generation = 1;

/*
 * What a security-restricted operation sees: no household, no superuser.
 * ANALYZE, autovacuum, CREATE INDEX, REINDEX, CLUSTER and REFRESH
 * MATERIALIZED VIEW run a table owner's expressions as that owner while the
 * outer user (the one this file checks) stays whoever started them, often a
 * superuser; without this, an index expression that reads
 * secrets.decrypted_secrets would see every household's values.
 */
static const Resolution restricted = {InvalidLocalTransactionId};

/* A privilege's capabilities; none for a word outside the vocabulary. */
static CapabilitySet
privilege_from_text(const char *s)
{
	for (size_t i = 0; i < lengthof(privileges); i++)
		if (strcmp(s, privileges[i].name) == 0)
			return privileges[i].caps;
	return CAPS_NONE;
}

/*
 * The name of a set of capabilities. A role holding two grants of one
 * household through membership may hold a set no single privilege names
 * (read and audit): then the strongest privileges it holds, joined by '+'.
 */
static const char *
privilege_name(CapabilitySet caps)
{
	StringInfoData joined;

	if (caps == CAPS_NONE)
		return "none";
	for (size_t i = 0; i < lengthof(privileges); i++)
		if (caps == privileges[i].caps)
			return privileges[i].name;
	initStringInfo(&joined);
	for (size_t i = 0; i < lengthof(privileges); i++)
	{
		bool		held = (caps & privileges[i].caps) == privileges[i].caps;

		for (size_t j = 0; held && j < i; j++)
			if ((caps & privileges[j].caps) == privileges[j].caps &&
				(privileges[j].caps & privileges[i].caps) == privileges[i].caps)
				held = false;	/* a stronger privilege held covers it */
		if (held)
			appendStringInfo(&joined, "%s%s", joined.len > 0 ? "+" : "", privileges[i].name);
	}
	return joined.len > 0 ? joined.data : "none";
}

/* The weakest privilege that has a capability: what a refusal says is needed. */
static const char *
privilege_needed_for(Capability needed)
{
	switch (needed)
	{
		case CAP_ADMIN:
			return "admin";
		case CAP_WRITE:
			return "write";
		case CAP_AUDIT:
			return "audit";
		default:
			return "read";
	}
}

/* What a household role may not do, as a refusal says it. */
static const char *
capability_action(Capability needed)
{
	switch (needed)
	{
		case CAP_ADMIN:
			return "administer the household";
		case CAP_WRITE:
			return "change secrets";
		case CAP_AUDIT:
			return "read the audit trail";
		case CAP_VALUES:
			return "read secret values";
		default:
			return "see the household's secrets";
	}
}

/*
 * A context set inside a subtransaction that rolls back is gone with it
 * (ROLLBACK TO SAVEPOINT undoes set_context like any other change); one
 * set in a subtransaction that is released belongs to its parent from then on.
 */
static void
gateway_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (gateway.lxid != InvalidLocalTransactionId && gateway.subid == mySubid)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			gateway.subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			gateway.lxid = InvalidLocalTransactionId;
			generation++;
		}
	}
	if (xact_choice.set && xact_choice.subid == mySubid)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			xact_choice.subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			xact_choice.set = false;
			generation++;
		}
	}
	if (session_choice_changed_in != InvalidLocalTransactionId && session_choice_subid == mySubid)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			session_choice_subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			session_choice = session_choice_before;
			session_choice_changed_in = InvalidLocalTransactionId;
			generation++;
		}
	}
}

/*
 * A session choice made in a transaction that aborts is taken back, as a
 * session-level set_config() would be; a transaction choice ends with its
 * transaction either way.
 */
static void
choice_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (session_choice_changed_in != InvalidLocalTransactionId)
				session_choice = session_choice_before;
			/* FALLTHROUGH */
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			session_choice_changed_in = InvalidLocalTransactionId;
			xact_choice.set = false;
			generation++;
			break;
		default:
			break;
	}
}

/* DISCARD ALL and RESET ALL forget every household choice. */
static void
clear_choices(void)
{
	xact_choice.set = false;
	session_choice.set = false;
	session_choice_changed_in = InvalidLocalTransactionId;
	generation++;
}



static bool
gateway_context_valid(void)
{
	return gateway.lxid != InvalidLocalTransactionId && gateway.lxid == MyProc->lxid;
}

/*
 * Grants are keyed by the role's OID (schema 0.2.0), so a renamed role keeps
 * its grants and a new role with an old name gets none; schema 0.1.0 keyed
 * them by name, and this library serves it until ALTER EXTENSION UPDATE.
 */
#define GRANT_LOOKUP_BY_OID \
	"SELECT g.household_id, g.privilege FROM secrets.household_grants g " \
	"JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.grantee::pg_catalog.oid " \
	"WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')"
#define GRANT_LOOKUP_BY_NAME \
	"SELECT g.household_id, g.privilege FROM secrets.household_grants g " \
	"JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) g.role_name " \
	"WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')"

#define GRANTS_OF_ROLE \
	"SELECT g.household_id, g.privilege FROM secrets.household_grants g " \
	"WHERE g.grantee::pg_catalog.oid OPERATOR(pg_catalog.=) $1"

static bool
grants_keyed_by_oid(void)
{
	Oid			nsp = get_namespace_oid("secrets", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("household_grants", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "grantee") != InvalidAttrNumber;
}

typedef struct GrantQuery
{
	Oid			role;
	const pg_uuid_t *want;
	CapabilitySet match;
	pg_uuid_t	only;
	CapabilitySet only_priv;
	int			ngrants;
	bool		count_only;		/* the role's own grants, not through membership */
} GrantQuery;

static void
grant_query(void *arg)
{
	GrantQuery *q = (GrantQuery *) arg;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(q->role)};

	if (SPI_execute_with_args(q->count_only ? GRANTS_OF_ROLE :
							  grants_keyed_by_oid() ? GRANT_LOOKUP_BY_OID : GRANT_LOOKUP_BY_NAME,
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pgsecrets: household grant lookup failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		pg_uuid_t  *hh = DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
		CapabilitySet p = privilege_from_text(SPI_getvalue(tup, desc, 2));

		q->ngrants++;
		/* grants through several roles add up */
		if (q->want && memcmp(hh->data, q->want->data, UUID_LEN) == 0)
			q->match |= p;
		if (q->ngrants == 1)
		{
			memcpy(q->only.data, hh->data, UUID_LEN);
			q->only_priv = p;
		}
	}
}

/*
 * Looks up the households granted to role (directly or through membership),
 * as pgsecrets_owner so that no caller needs a right on the table. Returns
 * the number of grants; *match gets the privilege for want (if any), *only
 * the household when there is exactly one.
 */
static int
lookup_grants(Oid role, const pg_uuid_t *want, CapabilitySet *match,
			  pg_uuid_t *only, CapabilitySet *only_priv)
{
	GrantQuery	q = {0};

	q.role = role;
	q.want = want;
	run_as_owner(grant_query, &q);
	*match = q.match;
	if (q.ngrants >= 1)
	{
		*only = q.only;
		*only_priv = q.only_priv;
	}
	return q.ngrants;
}

/* Remembers the session choice before this transaction first changes it. */
static void
note_session_change(void)
{
	if (session_choice_changed_in == MyProc->lxid)
		return;
	session_choice_before = session_choice;
	session_choice_changed_in = MyProc->lxid;
	session_choice_subid = GetCurrentSubTransactionId();
}

/* The use_household() choice in force for outer, if any. */
static const HouseholdChoice *
current_choice(Oid outer)
{
	if (xact_choice.set && xact_choice.lxid == MyProc->lxid && xact_choice.outer_user == outer)
		return &xact_choice;
	if (session_choice.set && session_choice.outer_user == outer)
		return &session_choice;
	return NULL;
}

/*
 * Resolves the session's household for this transaction, once; later calls
 * in the same transaction are a few comparisons.
 */
static const Resolution *
resolve(void)
{
	Oid			outer = GetOuterUserId();
	pg_uuid_t	only;
	CapabilitySet only_priv = CAPS_NONE;
	CapabilitySet match;
	int			ngrants;
	const HouseholdChoice *choice;

	if (InSecurityRestrictedOperation())
		return &restricted;
	if (resolved.lxid == MyProc->lxid && resolved.outer_user == outer &&
		resolved.generation == generation)
		return &resolved;

	resolved.lxid = MyProc->lxid;
	resolved.outer_user = outer;
	resolved.generation = generation;
	resolved.is_superuser = superuser_arg(outer);
	resolved.has_household = false;
	resolved.caps = CAPS_NONE;
	resolved.from_gateway = false;

	if (gateway_context_valid())
	{
		resolved.has_household = true;
		resolved.household = gateway.household;
		resolved.caps = gateway.caps;
		resolved.from_gateway = true;
		return &resolved;
	}

	choice = current_choice(outer);
	if (choice != NULL)
	{
		if (resolved.is_superuser)
			match = CAPS_ADMIN;
		else
			(void) lookup_grants(outer, &choice->household, &match, &only, &only_priv);
		if (match != CAPS_NONE)
		{
			resolved.has_household = true;
			resolved.household = choice->household;
			resolved.caps = match;
		}
		return &resolved;
	}

	if (!resolved.is_superuser)
	{
		ngrants = lookup_grants(outer, NULL, &match, &only, &only_priv);
		if (ngrants == 1)
		{
			resolved.has_household = true;
			resolved.household = only;
			resolved.caps = only_priv;
		}
	}
	return &resolved;
}

static void
require_some_household(const Resolution *r)
{
	if (!r->has_household)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_NO_HOUSEHOLD),
				 errmsg("no household is selected for this session"),
				 errhint("Grant the role a household with secrets.grant_household(), or pick one with secrets.use_household().")));
}

static bool
has_capability(const Resolution *r, Capability needed)
{
	return r->is_superuser || (r->caps & CAP(needed)) != 0;
}

/*
 * The refusal of an action the session's privilege does not allow in its
 * own household (SQLSTATE SE009; secretsd answers 403). A gateway context
 * names the person's household role; a database role's session keeps the
 * wording of 0.2.0 (sql_message), which named the privilege.
 */
static void
refuse(const Resolution *r, Capability needed, bool sql_message_names_household)
{
	if (r->from_gateway && gateway.has_role)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_ROLE_REFUSED),
				 errmsg("permission denied: role \"%s\" may not %s", gateway.role, capability_action(needed))));
	if (sql_message_names_household)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_ROLE_REFUSED),
				 errmsg("permission denied for this household"),
				 errdetail("The session needs %s access to the household.", privilege_needed_for(needed))));
	ereport(ERROR,
			(errcode(ERRCODE_PGSECRETS_ROLE_REFUSED),
			 errmsg("permission denied: this session has %s access to the household, %s is needed",
					privilege_name(r->caps), privilege_needed_for(needed))));
}

/*
 * Guards the crypto primitives: a value is only sealed or opened for the
 * household the session acts for, and only when its privilege allows it
 * (an auditor never opens a value). Superusers hold the key file anyway.
 */
void
context_require_access(const pg_uuid_t *household, Capability needed)
{
	const Resolution *r = resolve();

	if (r->is_superuser)
		return;
	require_some_household(r);
	if (memcmp(r->household.data, household->data, UUID_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for this household"),
				 errdetail("The session needs %s access to the household.", privilege_needed_for(needed))));
	if (!has_capability(r, needed))
		refuse(r, needed, true);
}

/* Whether key is inside the gateway context's key prefix (true without one). */
static bool
key_in_prefix(const char *key, size_t len)
{
	size_t		plen;

	if (!gateway_context_valid() || !gateway.has_key_prefix || InSecurityRestrictedOperation())
		return true;
	plen = strlen(gateway.key_prefix);
	return len >= plen && memcmp(key, gateway.key_prefix, plen) == 0;
}

/*
 * require_privilege(needed text [, key text]) → uuid: the session's
 * household, when its privilege has the capability that defines privilege
 * `needed` (read: values, audit: the audit trail, write: changes, admin:
 * administration); else SE009. With a key (a write of that key): SE009 too
 * when the key is outside a scoped app's key prefix, decided from the name
 * alone so that a refusal tells nothing of whether the key exists.
 */
Datum
pgsecrets_require_privilege(PG_FUNCTION_ARGS)
{
	const Resolution *r = resolve();
	const char *needed_name;
	Capability	needed;
	pg_uuid_t  *out;

	if (PG_ARGISNULL(0))
		elog(ERROR, "pgsecrets: require_privilege() needs a privilege");
	needed_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(needed_name, "read") == 0)
		needed = CAP_VALUES;
	else if (strcmp(needed_name, "audit") == 0)
		needed = CAP_AUDIT;
	else if (strcmp(needed_name, "write") == 0)
		needed = CAP_WRITE;
	else if (strcmp(needed_name, "admin") == 0)
		needed = CAP_ADMIN;
	else
		elog(ERROR, "pgsecrets: require_privilege(): unknown privilege \"%s\"", needed_name);

	require_some_household(r);
	if (!has_capability(r, needed))
		refuse(r, needed, false);
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		text	   *key = PG_GETARG_TEXT_PP(1);

		if (!key_in_prefix(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)))
			ereport(ERROR,
					(errcode(ERRCODE_PGSECRETS_ROLE_REFUSED),
					 errmsg("permission denied: key \"%s\" is outside this app's key prefix \"%s\"",
							text_to_cstring(key), gateway.key_prefix)));
	}
	out = palloc(sizeof(pg_uuid_t));
	*out = r->household;
	PG_RETURN_UUID_P(out);
}

/*
 * key_in_prefix(key text) → boolean: whether a scoped app may see the key
 * (always true outside a gateway context with a key prefix).
 */
Datum
pgsecrets_key_in_prefix(PG_FUNCTION_ARGS)
{
	text	   *key;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	key = PG_GETARG_TEXT_PP(0);
	PG_RETURN_BOOL(key_in_prefix(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
}

static void
copy_bounded_text(text *src, char *dst, size_t cap, const char *what)
{
	size_t		len = VARSIZE_ANY_EXHDR(src);

	if (len > cap)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most %zu bytes", what, cap),
				 /* the mark of the API's own validation errors (see the SQL) */
				 err_generic_string(PG_DIAG_SCHEMA_NAME, "secrets"),
				 err_generic_string(PG_DIAG_TABLE_NAME, "api"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, what)));
	memcpy(dst, VARDATA_ANY(src), len);
	dst[len] = '\0';
}

/*
 * The privilege of a household role (household_roles); 22023 for anything
 * else, NULL included.
 */
static CapabilitySet
household_role_caps(text *role_text, char *role_out)
{
	char	   *role = role_text ? text_to_cstring(role_text) : NULL;

	for (size_t i = 0; role != NULL && i < lengthof(household_roles); i++)
		if (strcmp(role, household_roles[i].role) == 0)
		{
			strlcpy(role_out, household_roles[i].role, ROLE_MAX_BYTES + 1);
			return privilege_from_text(household_roles[i].privilege);
		}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("role must be \"owner\", \"admin\", \"writer\", \"reader\" or \"auditor\""),
			 err_generic_string(PG_DIAG_SCHEMA_NAME, "secrets"),
			 err_generic_string(PG_DIAG_TABLE_NAME, "api"),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "role")));
	return CAPS_NONE;			/* not reached */
}

/*
 * A key prefix is the start of a key, so it follows the key's characters
 * (secrets.check_key: SCREAMING_SNAKE_CASE, at most 255 bytes).
 */
static void
copy_key_prefix(text *prefix, char *dst)
{
	const char *p = VARDATA_ANY(prefix);
	size_t		len = VARSIZE_ANY_EXHDR(prefix);
	bool		ok = len >= 1 && len <= KEY_MAX_BYTES && p[0] >= 'A' && p[0] <= 'Z';

	for (size_t i = 1; ok && i < len; i++)
		ok = (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_';
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key_prefix must be the start of a key: SCREAMING_SNAKE_CASE, 1 to %d characters",
						KEY_MAX_BYTES),
				 err_generic_string(PG_DIAG_SCHEMA_NAME, "secrets"),
				 err_generic_string(PG_DIAG_TABLE_NAME, "api"),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "key_prefix")));
	memcpy(dst, p, len);
	dst[len] = '\0';
}

/*
 * set_context(household_id uuid, actor text, node_id text default null):
 * the household and actor of the current transaction, for secretsd only,
 * with an admin's privilege (a node's: write).
 * set_context(household uuid, actor text, node_id text, role text,
 * key_prefix text default null) (0.3.0): with the privilege of the
 * person's household role, and for a scoped app only the keys starting
 * with key_prefix.
 * Outside a transaction block that is the calling statement itself, which
 * lets secretsd set the context and do the work in one round trip. Nothing
 * is set unless every argument is valid.
 */
Datum
pgsecrets_set_context(PG_FUNCTION_ARGS)
{
	Oid			gateway_role = get_role_oid("pgsecrets_gateway", true);
	GatewayContext next = {InvalidLocalTransactionId};

	if (!OidIsValid(gateway_role) || !is_member_of_role(GetSessionUserId(), gateway_role) ||
		InSecurityRestrictedOperation())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set the household context"),
				 errdetail("Only a session whose login role is a member of pgsecrets_gateway may call secrets.set_context().")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("household_id must not be null")));

	/* built aside: an invalid call changes nothing */
	next.household = *PG_GETARG_UUID_P(0);
	if (PG_ARGISNULL(1))
		strlcpy(next.actor, GetUserNameFromId(GetSessionUserId(), false), sizeof(next.actor));
	else
		copy_bounded_text(PG_GETARG_TEXT_PP(1), next.actor, ACTOR_MAX_BYTES, "actor");
	next.has_node = !PG_ARGISNULL(2);
	if (next.has_node)
		copy_bounded_text(PG_GETARG_TEXT_PP(2), next.node_id, NODE_ID_MAX_BYTES, "node_id");
	next.has_role = PG_NARGS() > 3;
	next.caps = next.has_role ?
		household_role_caps(PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3), next.role) : CAPS_ADMIN;
	/* A node writes its own secrets; it never administers the household. */
	if (next.has_node)
		next.caps &= CAPS_WRITE;
	next.has_key_prefix = PG_NARGS() > 4 && !PG_ARGISNULL(4);
	if (next.has_key_prefix)
		copy_key_prefix(PG_GETARG_TEXT_PP(4), next.key_prefix);
	gateway = next;
	gateway.lxid = MyProc->lxid;
	gateway.subid = GetCurrentSubTransactionId();
	generation++;
	PG_RETURN_VOID();
}

/*
 * use_household(household_id uuid, for_session boolean default false):
 * picks one of the role's households for the current transaction, or with
 * for_session for the rest of the session (unsafe behind a pooler in
 * transaction mode, like any session state). NULL clears both choices.
 */
Datum
pgsecrets_use_household(PG_FUNCTION_ARGS)
{
	Oid			outer = GetOuterUserId();
	bool		for_session = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	pg_uuid_t  *household;
	pg_uuid_t	only;
	CapabilitySet only_priv;
	CapabilitySet match;
	HouseholdChoice *target;

	generation++;
	if (PG_ARGISNULL(0))
	{
		note_session_change();
		xact_choice.set = false;
		session_choice.set = false;
		PG_RETURN_VOID();
	}
	if (InSecurityRestrictedOperation())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot pick a household in a security-restricted operation")));
	household = PG_GETARG_UUID_P(0);
	if (!superuser_arg(outer))
	{
		(void) lookup_grants(outer, household, &match, &only, &only_priv);
		if (match == CAPS_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" has not been granted this household",
							GetUserNameFromId(outer, false))));
	}
	if (for_session)
	{
		note_session_change();
		xact_choice.set = false;
		target = &session_choice;
	}
	else
		target = &xact_choice;
	target->set = true;
	target->lxid = MyProc->lxid;
	target->subid = GetCurrentSubTransactionId();
	target->outer_user = outer;
	target->household = *household;
	PG_RETURN_VOID();
}

Datum
pgsecrets_current_household(PG_FUNCTION_ARGS)
{
	const Resolution *r = resolve();
	pg_uuid_t  *out;

	if (!r->has_household)
		PG_RETURN_NULL();
	out = palloc(sizeof(pg_uuid_t));
	*out = r->household;
	PG_RETURN_UUID_P(out);
}

/* The name recorded in created_by / updated_by. */
Datum
pgsecrets_current_actor(PG_FUNCTION_ARGS)
{
	if (gateway_context_valid())
		PG_RETURN_TEXT_P(cstring_to_text(gateway.actor));
	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}

/*
 * The database role acting, as the audit log records it: the role after any
 * SET ROLE, which current_user cannot show inside a SECURITY DEFINER function.
 */
Datum
pgsecrets_current_db_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}

Datum
pgsecrets_current_node(PG_FUNCTION_ARGS)
{
	if (gateway_context_valid() && gateway.has_node)
		PG_RETURN_TEXT_P(cstring_to_text(gateway.node_id));
	PG_RETURN_NULL();
}

Datum
pgsecrets_current_privilege(PG_FUNCTION_ARGS)
{
	const Resolution *r = resolve();

	if (r->is_superuser)
		PG_RETURN_TEXT_P(cstring_to_text("admin"));
	PG_RETURN_TEXT_P(cstring_to_text(privilege_name(r->has_household ? r->caps : CAPS_NONE)));
}

/*
 * row_visible(household_id, scope, node_id, [key,] min_privilege int): the
 * test of every row-level-security policy; min_privilege is the Capability
 * needed (1 metadata, 2 write, 3 admin, 4 audit trail, 5 values). A gateway
 * context that names a node sees the household's integration rows and that
 * node's own rows, and writes only the latter; one with a key prefix (a
 * scoped app) sees only the keys that start with it (0.3.0, the form with
 * key).
 */
Datum
pgsecrets_row_visible(PG_FUNCTION_ARGS)
{
	const Resolution *r;
	int			min_arg = PG_NARGS() - 1;
	int			needed;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(min_arg))
		PG_RETURN_BOOL(false);
	r = resolve();
	needed = PG_GETARG_INT32(min_arg);
	if (needed < CAP_METADATA)
		needed = CAP_METADATA;
	if (r->is_superuser)
		PG_RETURN_BOOL(true);
	if (!r->has_household || needed > CAP_VALUES || !has_capability(r, (Capability) needed) ||
		memcmp(r->household.data, PG_GETARG_UUID_P(0)->data, UUID_LEN) != 0)
		PG_RETURN_BOOL(false);
	if (PG_NARGS() > 4 && !PG_ARGISNULL(3))
	{
		text	   *key = PG_GETARG_TEXT_PP(3);

		if (!key_in_prefix(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)))
			PG_RETURN_BOOL(false);
	}
	if (r->from_gateway && gateway.has_node && !PG_ARGISNULL(1))
	{
		bool		is_node_scope = strcmp(text_to_cstring(PG_GETARG_TEXT_PP(1)), "node") == 0;
		bool		own_node = is_node_scope && !PG_ARGISNULL(2) &&
			strcmp(text_to_cstring(PG_GETARG_TEXT_PP(2)), gateway.node_id) == 0;

		if (needed == CAP_WRITE || needed == CAP_ADMIN)
			PG_RETURN_BOOL(own_node);
		PG_RETURN_BOOL(!is_node_scope || own_node);
	}
	PG_RETURN_BOOL(true);
}

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * Refuses DROP ROLE of a role that holds households in this database: its
 * grants are keyed by its OID and would outlive it as dead rows (like
 * PostgreSQL's own "role cannot be dropped because some objects depend on
 * it"). Revoke first, then drop.
 */
static void
refuse_drop_of_granted_roles(DropRoleStmt *stmt)
{
	ListCell   *lc;

	if (!grants_keyed_by_oid())
		return;
	foreach(lc, stmt->roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			role;
		GrantQuery	q = {0};

		if (spec->roletype != ROLESPEC_CSTRING)
			continue;
		role = get_role_oid(spec->rolename, true);
		if (!OidIsValid(role))
			continue;
		q.role = role;
		q.count_only = true;
		run_as_owner(grant_query, &q);
		if (q.ngrants > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("role \"%s\" cannot be dropped because it holds %d pgsecrets household grant(s) in this database",
							spec->rolename, q.ngrants),
					 errhint("Revoke them first: SELECT secrets.revoke_household('%s', household_id) FROM secrets.household_grants_view WHERE role = '%s';",
							 spec->rolename, spec->rolename)));
	}
}

static void
pgsecrets_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						  ProcessUtilityContext context, ParamListInfo params,
						  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, DropRoleStmt))
		refuse_drop_of_granted_roles((DropRoleStmt *) parsetree);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if ((IsA(parsetree, DiscardStmt) && ((DiscardStmt *) parsetree)->target == DISCARD_ALL) ||
		(IsA(parsetree, VariableSetStmt) && ((VariableSetStmt *) parsetree)->kind == VAR_RESET_ALL))
		clear_choices();
}

void
context_install_callbacks(void)
{
	static bool installed = false;

	if (installed)
		return;
	RegisterSubXactCallback(gateway_subxact_callback, NULL);
	RegisterXactCallback(choice_xact_callback, NULL);
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = pgsecrets_process_utility;
	installed = true;
}
