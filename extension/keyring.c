/*
 * keyring.c — root keys and the per-household data keys derived from them.
 *
 * Key file format (documented in README.md):
 *
 *     # comments and blank lines are ignored
 *     <version> <64 hex digits> [active]
 *
 * Versions are integers from 1 to 2147483647. At most one line says
 * "active"; without one, the highest version is active. A file whose only
 * content is 64 hex digits (the output of `openssl rand -hex 32`) is key
 * version 1, active.
 *
 * Everything secret lives in one sodium_malloc() region: guard pages,
 * mlock()ed, excluded from core dumps, read-only except while being written,
 * and wiped by sodium_free() when the process exits.
 */
#include "pgsecrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/tuplestore.h"

#define KEY_SOURCE_MAX_BYTES 65536
#define DATA_KEY_CACHE_SIZE 256
#define ERROR_TEXT_MAX 256

typedef struct RootKey
{
	uint32		version;
	unsigned char key[PGSECRETS_KEY_BYTES];
} RootKey;

typedef struct KeyRing
{
	int			nkeys;
	int			active;			/* index into keys */
	RootKey		keys[PGSECRETS_MAX_KEYS];
} KeyRing;

typedef struct DataKeyEntry
{
	bool		valid;
	uint32		version;
	pg_uuid_t	household;
	unsigned char key[PGSECRETS_KEY_BYTES];
} DataKeyEntry;

typedef struct LockedState
{
	KeyRing		ring;
	KeyRing		staging;		/* parse target, so a bad file never half-replaces the ring */
	DataKeyEntry cache[DATA_KEY_CACHE_SIZE];
} LockedState;

static LockedState *locked = NULL;
static pid_t locked_pid = 0;
static bool ring_loaded = false;
static bool ring_stale = true;
static char load_error[ERROR_TEXT_MAX] = "pgsecrets.key_file is not set";

/* BLAKE2b personalisation: names the purpose and version of the derivation. */
static const unsigned char data_key_personal[crypto_generichash_blake2b_PERSONALBYTES] = "pgsecrets:dkey:1";

/*
 * Wipes every key this process holds; registered per process because forked
 * backends do not inherit on_proc_exit callbacks.
 */
static void
keyring_wipe(int code, Datum arg)
{
	if (locked != NULL)
	{
		sodium_free(locked);	/* zeroes before unmapping */
		locked = NULL;
	}
	ring_loaded = false;
}

/*
 * Memory locks are not inherited across fork(), so each process that uses
 * the ring re-locks it and registers its own wipe.
 */
static void
ensure_process_setup(void)
{
	if (locked_pid == MyProcPid)
		return;
	if (locked == NULL)
	{
		locked = sodium_malloc(sizeof(LockedState));
		if (locked == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("pgsecrets: could not allocate locked memory for keys")));
		sodium_memzero(locked, sizeof(LockedState));
		sodium_mprotect_readonly(locked);
	}
	else
		(void) sodium_mlock(locked, sizeof(LockedState));
	on_proc_exit(keyring_wipe, (Datum) 0);
	locked_pid = MyProcPid;
}

static void
set_load_error(const char *fmt,...) pg_attribute_printf(1, 2);

static void
set_load_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(load_error, sizeof(load_error), fmt, ap);
	va_end(ap);
}

/*
 * Reads the key file into buf. Uses plain POSIX calls because it also runs
 * in the postmaster, where the descriptor must not outlive an error.
 */
static ssize_t
read_key_file(const char *path, char *buf, size_t cap)
{
	struct stat st;
	ssize_t		total = 0;
	int			fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
	{
		set_load_error("could not open pgsecrets.key_file \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		set_load_error("pgsecrets.key_file \"%s\" is not a regular file", path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IRWXO))
	{
		close(fd);
		set_load_error("pgsecrets.key_file \"%s\" is accessible to other users; it must be mode 0600 (or 0640)", path);
		return -1;
	}
	while ((size_t) total < cap)
	{
		ssize_t		n = read(fd, buf + total, cap - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			close(fd);
			set_load_error("could not read pgsecrets.key_file \"%s\": %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	if ((size_t) total >= cap)
	{
		set_load_error("pgsecrets.key_file \"%s\" is larger than %d bytes", path, KEY_SOURCE_MAX_BYTES);
		return -1;
	}
	return total;
}

/* Runs pgsecrets.key_command and captures its standard output. */
static ssize_t
read_key_command(const char *command, char *buf, size_t cap)
{
	FILE	   *pipe;
	size_t		total;
	int			status;

	fflush(NULL);
	pipe = popen(command, "r");
	if (pipe == NULL)
	{
		set_load_error("could not run pgsecrets.key_command: %s", strerror(errno));
		return -1;
	}
	total = fread(buf, 1, cap, pipe);
	status = pclose(pipe);
	if (status != 0)
	{
		set_load_error("pgsecrets.key_command failed (status %d)", status);
		return -1;
	}
	if (total >= cap)
	{
		set_load_error("pgsecrets.key_command printed more than %d bytes", KEY_SOURCE_MAX_BYTES);
		return -1;
	}
	return (ssize_t) total;
}

static bool
is_hex_key(const char *token)
{
	if (strlen(token) != PGSECRETS_KEY_BYTES * 2)
		return false;
	for (const char *p = token; *p; p++)
		if (!isxdigit((unsigned char) *p))
			return false;
	return true;
}

/*
 * Parses one key line (already split into tokens) into ring. Error texts
 * name the line and the rule, never the key material.
 */
static bool
parse_key_line(KeyRing *ring, int lineno, char **tokens, int ntokens,
			   bool only_line, bool *saw_active)
{
	const char *hex;
	long		version;
	bool		active = false;
	RootKey    *slot;

	if (ntokens == 1 && is_hex_key(tokens[0]))
	{
		if (!only_line)
		{
			set_load_error("pgsecrets key file line %d: a bare key is only allowed as the file's only key; write \"<version> <key>\"", lineno);
			return false;
		}
		version = 1;
		hex = tokens[0];
		active = true;
	}
	else
	{
		char	   *end;

		if (ntokens < 2 || ntokens > 3 || (ntokens == 3 && strcmp(tokens[2], "active") != 0))
		{
			set_load_error("pgsecrets key file line %d: expected \"<version> <64 hex digits> [active]\"", lineno);
			return false;
		}
		errno = 0;
		version = strtol(tokens[0], &end, 10);
		if (errno != 0 || *end != '\0' || version < 1 || version > PG_INT32_MAX)
		{
			set_load_error("pgsecrets key file line %d: key version must be an integer from 1 to %d", lineno, PG_INT32_MAX);
			return false;
		}
		if (!is_hex_key(tokens[1]))
		{
			set_load_error("pgsecrets key file line %d: a key must be exactly 64 hex digits (32 bytes)", lineno);
			return false;
		}
		hex = tokens[1];
		active = (ntokens == 3);
	}

	for (int i = 0; i < ring->nkeys; i++)
		if (ring->keys[i].version == (uint32) version)
		{
			set_load_error("pgsecrets key file line %d: key version %ld appears twice", lineno, version);
			return false;
		}
	if (ring->nkeys >= PGSECRETS_MAX_KEYS)
	{
		set_load_error("pgsecrets key file holds more than %d keys", PGSECRETS_MAX_KEYS);
		return false;
	}
	if (active && *saw_active)
	{
		set_load_error("pgsecrets key file line %d: more than one key is marked active", lineno);
		return false;
	}

	slot = &ring->keys[ring->nkeys];
	slot->version = (uint32) version;
	if (sodium_hex2bin(slot->key, PGSECRETS_KEY_BYTES, hex, strlen(hex), NULL, NULL, NULL) != 0)
	{
		set_load_error("pgsecrets key file line %d: a key must be exactly 64 hex digits (32 bytes)", lineno);
		return false;
	}
	if (active)
	{
		ring->active = ring->nkeys;
		*saw_active = true;
	}
	ring->nkeys++;
	return true;
}

static int
count_key_lines(char *buf)
{
	int			n = 0;
	char	   *p = buf;

	while (*p)
	{
		char	   *eol = strchr(p, '\n');
		char	   *q = p;

		while (q < (eol ? eol : p + strlen(p)) && isspace((unsigned char) *q))
			q++;
		if (q < (eol ? eol : p + strlen(p)) && *q != '#')
			n++;
		if (!eol)
			break;
		p = eol + 1;
	}
	return n;
}

/* Parses a whole key source into ring; on failure load_error says why. */
static bool
parse_key_source(char *buf, KeyRing *ring)
{
	bool		saw_active = false;
	bool		only_line = (count_key_lines(buf) == 1);
	int			lineno = 0;
	char	   *line = buf;

	ring->nkeys = 0;
	ring->active = -1;
	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');
		char	   *comment;
		char	   *tokens[4];
		int			ntokens = 0;
		char	   *save = NULL;
		char	   *tok;

		if (next)
			*next++ = '\0';
		lineno++;
		if ((comment = strchr(line, '#')) != NULL)
			*comment = '\0';
		for (tok = strtok_r(line, " \t\r", &save); tok != NULL; tok = strtok_r(NULL, " \t\r", &save))
		{
			if (ntokens == lengthof(tokens))
			{
				set_load_error("pgsecrets key file line %d: expected \"<version> <64 hex digits> [active]\"", lineno);
				return false;
			}
			tokens[ntokens++] = tok;
		}
		if (ntokens > 0 && !parse_key_line(ring, lineno, tokens, ntokens, only_line, &saw_active))
			return false;
		line = next;
	}
	if (ring->nkeys == 0)
	{
		set_load_error("pgsecrets key file holds no key");
		return false;
	}
	if (!saw_active)
	{
		ring->active = 0;
		for (int i = 1; i < ring->nkeys; i++)
			if (ring->keys[i].version > ring->keys[ring->active].version)
				ring->active = i;
	}
	return true;
}

/*
 * Reads and parses the configured key source into the locked ring. Never
 * throws: the postmaster must keep running without a key.
 */
static bool
load_ring(void)
{
	char	   *buf;
	ssize_t		len;
	bool		ok;

	ring_stale = false;
	if ((pgsecrets_key_command == NULL || pgsecrets_key_command[0] == '\0') &&
		(pgsecrets_key_file == NULL || pgsecrets_key_file[0] == '\0'))
	{
		set_load_error("pgsecrets.key_file is not set");
		ring_loaded = false;
		return false;
	}

	buf = malloc(KEY_SOURCE_MAX_BYTES + 1);
	if (buf == NULL)
	{
		set_load_error("out of memory reading the pgsecrets key source");
		return false;
	}
	if (pgsecrets_key_command != NULL && pgsecrets_key_command[0] != '\0')
		len = read_key_command(pgsecrets_key_command, buf, KEY_SOURCE_MAX_BYTES + 1);
	else
		len = read_key_file(pgsecrets_key_file, buf, KEY_SOURCE_MAX_BYTES + 1);

	ok = (len >= 0);
	if (ok)
	{
		buf[len] = '\0';
		sodium_mprotect_readwrite(locked);
		ok = parse_key_source(buf, &locked->staging);
		if (ok)
		{
			memcpy(&locked->ring, &locked->staging, sizeof(KeyRing));
			sodium_memzero(locked->cache, sizeof(locked->cache));
		}
		sodium_memzero(&locked->staging, sizeof(KeyRing));
		sodium_mprotect_readonly(locked);
	}
	sodium_memzero(buf, KEY_SOURCE_MAX_BYTES + 1);
	free(buf);

	/* A failed reload keeps the keys already loaded: reads must not stop. */
	if (ok)
		ring_loaded = true;
	return ok;
}

/* Called from _PG_init in the postmaster, so backends inherit the keys. */
void
keyring_init_postmaster(void)
{
	ensure_process_setup();
	if (load_ring())
		ereport(LOG,
				(errmsg("pgsecrets: loaded %d root key(s); active key version %u",
						locked->ring.nkeys, locked->ring.keys[locked->ring.active].version)));
	else
		ereport(WARNING,
				(errmsg("pgsecrets: no root key loaded: %s", load_error),
				 errhint("Secret functions will fail until pgsecrets.key_file names a valid key file and the server is reloaded.")));
}

void
keyring_mark_stale(void)
{
	ring_stale = true;
}

/*
 * Every crypto entry point calls this first: it loads or reloads the ring
 * when needed and fails with an error that names the setting.
 */
void
keyring_require_loaded(void)
{
	ensure_process_setup();
	if (ring_stale)
		(void) load_ring();
	if (!ring_loaded)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_NO_KEY),
				 errmsg("no pgsecrets root key is loaded"),
				 errdetail("%s.", load_error),
				 errhint("Point pgsecrets.key_file at a key file (for example the output of \"openssl rand -hex 32\", mode 0600) and reload the server.")));
}

bool
keyring_active_version(uint32 *version)
{
	if (!ring_loaded)
		return false;
	*version = locked->ring.keys[locked->ring.active].version;
	return true;
}

/* Lists loaded versions for key_status(); never exposes key bytes. */
int
keyring_versions(uint32 *versions, bool *active, int max)
{
	int			n = 0;

	if (!ring_loaded)
		return 0;
	for (int i = 0; i < locked->ring.nkeys && n < max; i++, n++)
	{
		versions[n] = locked->ring.keys[i].version;
		active[n] = (i == locked->ring.active);
	}
	return n;
}

static uint32
cache_slot(uint32 version, const pg_uuid_t *household)
{
	uint32		h = 2166136261u ^ version;

	for (int i = 0; i < UUID_LEN; i++)
		h = (h ^ household->data[i]) * 16777619u;
	return h % DATA_KEY_CACHE_SIZE;
}

/*
 * Returns the data key of (household, root key version): BLAKE2b keyed with
 * the root key over the household id. Cached per backend in locked memory so
 * the hot path costs one hash-slot comparison, not a derivation.
 */
bool
keyring_data_key(uint32 version, const pg_uuid_t *household,
				 unsigned char out[PGSECRETS_KEY_BYTES])
{
	DataKeyEntry *entry = &locked->cache[cache_slot(version, household)];
	const RootKey *root = NULL;
	static const unsigned char zero_salt[crypto_generichash_blake2b_SALTBYTES] = {0};

	if (entry->valid && entry->version == version &&
		memcmp(entry->household.data, household->data, UUID_LEN) == 0)
	{
		memcpy(out, entry->key, PGSECRETS_KEY_BYTES);
		return true;
	}
	for (int i = 0; i < locked->ring.nkeys; i++)
		if (locked->ring.keys[i].version == version)
			root = &locked->ring.keys[i];
	if (root == NULL)
		return false;

	sodium_mprotect_readwrite(locked);
	crypto_generichash_blake2b_salt_personal(entry->key, PGSECRETS_KEY_BYTES,
											 household->data, UUID_LEN,
											 root->key, PGSECRETS_KEY_BYTES,
											 zero_salt, data_key_personal);
	entry->version = version;
	memcpy(entry->household.data, household->data, UUID_LEN);
	entry->valid = true;
	memcpy(out, entry->key, PGSECRETS_KEY_BYTES);
	sodium_mprotect_readonly(locked);
	return true;
}

/*
 * Derives a purpose-specific key of (household, root key version): BLAKE2b
 * keyed with the root key over the household id, under a personalisation
 * that names the purpose ("pgsecrets:audit:1"), so it can never equal a data
 * key. Not cached: callers (the audit chain) hash once per row, not per byte.
 */
bool
keyring_subkey(uint32 version, const pg_uuid_t *household,
			   const unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES],
			   unsigned char out[PGSECRETS_KEY_BYTES])
{
	static const unsigned char zero_salt[crypto_generichash_blake2b_SALTBYTES] = {0};

	for (int i = 0; i < locked->ring.nkeys; i++)
		if (locked->ring.keys[i].version == version)
		{
			crypto_generichash_blake2b_salt_personal(out, PGSECRETS_KEY_BYTES,
													 household->data, UUID_LEN,
													 locked->ring.keys[i].key, PGSECRETS_KEY_BYTES,
													 zero_salt, personal);
			return true;
		}
	return false;
}

PG_FUNCTION_INFO_V1(pgsecrets_loaded_key_versions);

/*
 * loaded_key_versions() → setof (key_version bigint, active boolean): the
 * versions this backend holds, for key_status(). A failed load is not an
 * error here, so status can be shown on a server without a key.
 */
Datum
pgsecrets_loaded_key_versions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint32		versions[PGSECRETS_MAX_KEYS];
	bool		active[PGSECRETS_MAX_KEYS];
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	ensure_process_setup();
	if (ring_stale)
		(void) load_ring();
	n = keyring_versions(versions, active, PGSECRETS_MAX_KEYS);
	for (int i = 0; i < n; i++)
	{
		Datum		values[2] = {Int64GetDatum((int64) versions[i]), BoolGetDatum(active[i])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
