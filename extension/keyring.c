/*
 * keyring.c — root keys, the per-household keys derived from them, and the
 * one rule that makes every backend hold the same keys.
 *
 * The grammar of the key file is keyfile.c's. Everything secret lives in one
 * sodium_malloc() region: guard pages, mlock()ed, excluded from core dumps,
 * read-only except while being written, and wiped when the process exits.
 *
 * When the library is preloaded, the postmaster reads the key source at
 * start and at every reload, and publishes in shared memory a generation
 * number and a digest of what it loaded (versions and fingerprints, never a
 * key). New backends inherit the postmaster's keys. A running backend that
 * sees a newer generation reads the source again and adopts it only if its
 * digest is the published one, so no backend ever runs with keys that
 * differ from the others', and a key file edited without a reload is never
 * used. A source the postmaster refuses is logged and changes nothing.
 *
 * A reload that changes the key of a version that was already loaded keeps
 * the earlier key beside the new one ("alternate"): keycheck.c picks, per
 * database, the candidate whose fingerprint the database recorded, so a
 * wrong file cannot make values unreadable or get anything sealed under it.
 */
#include "pgsecrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#define KEY_SOURCE_MAX_BYTES 65536
#define DATA_KEY_CACHE_SIZE 256
#define ERROR_TEXT_MAX 256

typedef struct RootKey
{
	uint32		version;
	unsigned char key[PGSECRETS_KEY_BYTES];
	unsigned char fingerprint[PGSECRETS_FINGERPRINT_BYTES];
} RootKey;

typedef struct KeyRing
{
	int			nkeys;
	int			active;			/* index into keys */
	RootKey		keys[PGSECRETS_MAX_KEYS];
	int			nalts;
	RootKey		alts[PGSECRETS_MAX_KEYS];	/* earlier keys of changed versions */
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
	KeyRing		next;			/* built here, so a refused source never half-replaces ring */
	KeyFileContents parsed;
	DataKeyEntry cache[DATA_KEY_CACHE_SIZE];
} LockedState;

/* What the postmaster publishes: no key, only what proves which keys. */
typedef struct Published
{
	uint64		generation;
	bool		loaded;
	unsigned char digest[PGSECRETS_FINGERPRINT_BYTES];
	uint64		reloads;
	uint64		refused;
	TimestampTz last_reload;
	char		last_error[ERROR_TEXT_MAX];
} Published;

typedef struct KeyringShared
{
	pg_atomic_uint32 change;	/* odd while the postmaster writes */
	Published	pub;
} KeyringShared;

static LockedState *locked = NULL;
static pid_t locked_pid = 0;
static bool ring_loaded = false;
static bool ring_stale = true;	/* only without shared memory */
static char load_error[ERROR_TEXT_MAX] = "pgsecrets.key_file is not set";
static unsigned char ring_digest[PGSECRETS_FINGERPRINT_BYTES];

static KeyringShared *shared = NULL;
static uint64 local_generation = 0;
static uint32 seen_change = UINT32_MAX;	/* shared->change when last in step */
static bool sync_failed = false;
static int	chosen[PGSECRETS_MAX_KEYS];	/* per primary key: 0 = itself, n = alts[n-1] */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* BLAKE2b personalisations: name the purpose and version of each derivation. */
static const unsigned char data_key_personal[crypto_generichash_blake2b_PERSONALBYTES] = "pgsecrets:dkey:1";
static const unsigned char fingerprint_personal[crypto_generichash_blake2b_PERSONALBYTES] = "pgsecrets:kfp:v1";
static const unsigned char digest_personal[crypto_generichash_blake2b_PERSONALBYTES] = "pgsecrets:ring:1";

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

/* The one-way check value of a key: names it without revealing it. */
static void
fingerprint_of(uint32 version, const unsigned char key[PGSECRETS_KEY_BYTES],
			   unsigned char out[PGSECRETS_FINGERPRINT_BYTES])
{
	static const unsigned char zero_salt[crypto_generichash_blake2b_SALTBYTES] = {0};
	unsigned char msg[4] = {version >> 24, version >> 16, version >> 8, version};

	crypto_generichash_blake2b_salt_personal(out, PGSECRETS_FINGERPRINT_BYTES, msg, sizeof(msg),
											 key, PGSECRETS_KEY_BYTES, zero_salt, fingerprint_personal);
}

/* Digest of a ring as published: versions, fingerprints, which is active. */
static void
digest_of(const KeyRing *ring, unsigned char out[PGSECRETS_FINGERPRINT_BYTES])
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init_salt_personal(&st, NULL, 0, PGSECRETS_FINGERPRINT_BYTES,
												  NULL, digest_personal);
	for (int i = 0; i < ring->nkeys; i++)
	{
		const RootKey *k = &ring->keys[i];
		unsigned char head[5] = {k->version >> 24, k->version >> 16, k->version >> 8, k->version,
		(unsigned char) (i == ring->active)};

		crypto_generichash_blake2b_update(&st, head, sizeof(head));
		crypto_generichash_blake2b_update(&st, k->fingerprint, sizeof(k->fingerprint));
	}
	crypto_generichash_blake2b_final(&st, out, PGSECRETS_FINGERPRINT_BYTES);
}

static void
keep_alternate(KeyRing *next, const RootKey *old)
{
	int			i;

	for (i = 0; i < next->nkeys; i++)
		if (next->keys[i].version == old->version)
			break;
	if (i == next->nkeys ||
		memcmp(next->keys[i].fingerprint, old->fingerprint, PGSECRETS_FINGERPRINT_BYTES) == 0)
		return;					/* version gone, or the same key */
	for (int j = 0; j < next->nalts; j++)
		if (next->alts[j].version == old->version &&
			memcmp(next->alts[j].fingerprint, old->fingerprint, PGSECRETS_FINGERPRINT_BYTES) == 0)
			return;
	if (next->nalts < PGSECRETS_MAX_KEYS)
		next->alts[next->nalts++] = *old;
}

/*
 * Reads the key source and parses it into locked->next (with the keys the
 * current ring would keep as alternates). Never throws: the postmaster must
 * keep running without a key. locked must be writable.
 */
static bool
read_source(const char *file, const char *command)
{
	char	   *buf;
	ssize_t		len;
	bool		ok;
	char		err[ERROR_TEXT_MAX];
	int			err_line;

	if ((command == NULL || command[0] == '\0') && (file == NULL || file[0] == '\0'))
	{
		set_load_error("pgsecrets.key_file is not set");
		return false;
	}
	buf = malloc(KEY_SOURCE_MAX_BYTES + 1);
	if (buf == NULL)
	{
		set_load_error("out of memory reading the pgsecrets key source");
		return false;
	}
	if (command != NULL && command[0] != '\0')
		len = read_key_command(command, buf, KEY_SOURCE_MAX_BYTES + 1);
	else
		len = read_key_file(file, buf, KEY_SOURCE_MAX_BYTES + 1);
	ok = (len >= 0);
	if (ok)
	{
		buf[len] = '\0';
		ok = keyfile_parse(buf, &locked->parsed, err, sizeof(err), &err_line);
		if (!ok)
			set_load_error("pgsecrets key file %s", err);
	}
	sodium_memzero(buf, KEY_SOURCE_MAX_BYTES + 1);
	free(buf);
	if (ok)
	{
		KeyRing    *next = &locked->next;

		memset(next, 0, sizeof(KeyRing));
		next->nkeys = locked->parsed.nkeys;
		next->active = locked->parsed.active;
		for (int i = 0; i < next->nkeys; i++)
		{
			next->keys[i].version = locked->parsed.keys[i].version;
			memcpy(next->keys[i].key, locked->parsed.keys[i].key, PGSECRETS_KEY_BYTES);
			fingerprint_of(next->keys[i].version, next->keys[i].key, next->keys[i].fingerprint);
		}
		if (ring_loaded)
		{
			for (int i = 0; i < locked->ring.nkeys; i++)
				keep_alternate(next, &locked->ring.keys[i]);
			for (int i = 0; i < locked->ring.nalts; i++)
				keep_alternate(next, &locked->ring.alts[i]);
		}
	}
	sodium_memzero(&locked->parsed, sizeof(KeyFileContents));
	return ok;
}

/* Makes locked->next the ring. locked must be writable. */
static void
adopt_next(void)
{
	memcpy(&locked->ring, &locked->next, sizeof(KeyRing));
	sodium_memzero(&locked->next, sizeof(KeyRing));
	sodium_memzero(locked->cache, sizeof(locked->cache));
	memset(chosen, 0, sizeof(chosen));
	digest_of(&locked->ring, ring_digest);
	ring_loaded = true;
	keycheck_forget();
}

/* Reads the configured source into the ring, for a process on its own. */
static bool
load_ring(const char *file, const char *command)
{
	bool		ok;

	ring_stale = false;
	sodium_mprotect_readwrite(locked);
	ok = read_source(file, command);
	if (ok)
		adopt_next();
	sodium_memzero(&locked->next, sizeof(KeyRing));
	sodium_mprotect_readonly(locked);
	return ok;
}

/* Short hex of a fingerprint for messages: enough to tell keys apart. */
void
keyring_fingerprint_text(const unsigned char fp[PGSECRETS_FINGERPRINT_BYTES], char out[17])
{
	sodium_bin2hex(out, 17, fp, 8);
}

/* ---------------------------------------------------------- shared memory */

/*
 * Publishes the postmaster's state under the sequence lock; a reload (or a
 * refused one) is counted here too, so readers never see half of it.
 */
static void
publish(bool adopted, const char *error, bool reloaded, bool refused)
{
	uint32		c;

	if (shared == NULL)
		return;
	c = pg_atomic_read_u32(&shared->change);
	pg_atomic_write_u32(&shared->change, c + 1);
	pg_write_barrier();
	if (reloaded)
	{
		shared->pub.reloads++;
		shared->pub.last_reload = GetCurrentTimestamp();
	}
	if (refused)
		shared->pub.refused++;
	shared->pub.generation = local_generation;
	shared->pub.loaded = ring_loaded;
	memcpy(shared->pub.digest, ring_digest, sizeof(ring_digest));
	if (error != NULL)
		strlcpy(shared->pub.last_error, error, sizeof(shared->pub.last_error));
	else if (adopted)
		shared->pub.last_error[0] = '\0';
	pg_write_barrier();
	pg_atomic_write_u32(&shared->change, c + 2);
}

/* A consistent copy of what the postmaster published (a sequence lock). */
static void
snapshot(Published *s)
{
	for (;;)
	{
		uint32		before = pg_atomic_read_u32(&shared->change);

		if (before & 1)
		{
			pg_spin_delay();
			continue;
		}
		pg_read_barrier();
		memcpy(s, &shared->pub, sizeof(Published));
		pg_read_barrier();
		if (pg_atomic_read_u32(&shared->change) == before)
			return;
	}
}

static void
keyring_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(KeyringShared)));
}

/* In the postmaster (again after a crash): publishes the keys it holds. */
static void
keyring_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("pgsecrets keyring", sizeof(KeyringShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(KeyringShared));
		pg_atomic_init_u32(&shared->change, 0);
		if (local_generation == 0)
			local_generation = 1;
		publish(ring_loaded, ring_loaded ? NULL : load_error, false, false);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init in the postmaster, so backends inherit the keys. */
void
keyring_init_postmaster(void)
{
	ensure_process_setup();
	if (load_ring(pgsecrets_key_file, pgsecrets_key_command))
		ereport(LOG,
				(errmsg("pgsecrets: loaded %d root key(s); active key version %u",
						locked->ring.nkeys, locked->ring.keys[locked->ring.active].version)));
	else
		ereport(WARNING,
				(errmsg("pgsecrets: no root key loaded: %s", load_error),
				 errhint("Secret functions will fail until pgsecrets.key_file names a valid key file and the server is reloaded.")));
	local_generation = 1;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = keyring_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = keyring_shmem_startup;
}

/*
 * The postmaster's side of a reload: reads the source, and either publishes
 * a new generation or logs why it refused the source (the keys loaded stay
 * in force in every backend).
 */
static void
reload_in_postmaster(const char *file, const char *command)
{
	bool		ok;
	bool		changed;
	unsigned char digest[PGSECRETS_FINGERPRINT_BYTES];

	ensure_process_setup();
	sodium_mprotect_readwrite(locked);
	ok = read_source(file, command);
	if (ok)
		digest_of(&locked->next, digest);
	changed = ok && (!ring_loaded || memcmp(digest, ring_digest, sizeof(digest)) != 0);
	if (changed)
	{
		for (int i = 0; i < locked->next.nalts; i++)
		{
			const RootKey *alt = &locked->next.alts[i];

			for (int j = 0; j < locked->next.nkeys; j++)
				if (locked->next.keys[j].version == alt->version)
				{
					char		was[17],
								now[17];

					keyring_fingerprint_text(alt->fingerprint, was);
					keyring_fingerprint_text(locked->next.keys[j].fingerprint, now);
					ereport(WARNING,
							(errmsg("pgsecrets: the reloaded key file holds a different key for version %u (fingerprint %s, loaded %s)",
									alt->version, now, was),
							 errdetail("The key loaded before stays beside it; each database uses the one whose fingerprint it recorded and refuses the other.")));
				}
		}
		adopt_next();
	}
	sodium_memzero(&locked->next, sizeof(KeyRing));
	sodium_mprotect_readonly(locked);

	if (!ok)
	{
		ereport(WARNING,
				(errmsg("pgsecrets: the key source was refused at reload: %s", load_error),
				 errdetail(ring_loaded ? "The root keys loaded before stay in force in every session."
						   : "No root key is loaded.")));
		publish(false, load_error, true, true);
		return;
	}
	if (changed)
	{
		local_generation++;
		ereport(LOG,
				(errmsg("pgsecrets: reload: %d root key(s); active key version %u (key generation " UINT64_FORMAT ")",
						locked->ring.nkeys, locked->ring.keys[locked->ring.active].version,
						local_generation)));
	}
	publish(true, NULL, true, false);
}

/*
 * The key settings were assigned: at start, at a reload, or by SET in a
 * session of a superuser. file and command are the values in force once
 * this assignment is done. In the postmaster the source is read now; a
 * backend checks the published generation at its next crypto call.
 */
void
keyring_setting_changed(const char *file, const char *command)
{
	if (!IsUnderPostmaster && shared != NULL && locked != NULL)
		reload_in_postmaster(file, command);
	else
		ring_stale = true;
}

/*
 * Brings this backend's ring to the published generation. The source is
 * read again only when the generation moved, and adopted only if it is what
 * the postmaster loaded; until this backend has processed the reload
 * itself, it keeps the keys it has.
 */
static void
sync_with_postmaster(void)
{
	Published	snap;
	bool		ok;
	unsigned char digest[PGSECRETS_FINGERPRINT_BYTES];
	uint32		change = pg_atomic_read_u32(&shared->change);

	/* The hot path: nothing was published since this backend last looked. */
	if (change == seen_change && !sync_failed)
		return;
	snapshot(&snap);
	if (snap.generation == local_generation && !sync_failed)
	{
		seen_change = change;
		return;
	}
	if (ConfigReloadPending)
		return;
	if (!snap.loaded)
	{
		ring_loaded = false;
		local_generation = snap.generation;
		seen_change = change;
		set_load_error("%s", snap.last_error[0] ? snap.last_error : "no root key is loaded in the server");
		return;
	}
	sodium_mprotect_readwrite(locked);
	ok = read_source(pgsecrets_key_file, pgsecrets_key_command);
	if (ok)
	{
		digest_of(&locked->next, digest);
		ok = memcmp(digest, snap.digest, sizeof(digest)) == 0;
		if (ok)
			adopt_next();
		else
			set_load_error("the key source changed after the server last reloaded it; reload the server so that every session uses the same keys");
	}
	sodium_memzero(&locked->next, sizeof(KeyRing));
	sodium_mprotect_readonly(locked);
	if (ok)
	{
		local_generation = snap.generation;
		seen_change = change;
		sync_failed = false;
	}
	else
	{
		/* Fail closed: never run with keys the other backends do not have. */
		ring_loaded = false;
		sync_failed = true;
		ereport(WARNING,
				(errmsg("pgsecrets: this session cannot use the keys of the last reload: %s", load_error)));
	}
}

void
keyring_sync_quietly(void)
{
	ensure_process_setup();
	if (shared != NULL && IsUnderPostmaster)
		sync_with_postmaster();
	else if (ring_stale)
		(void) load_ring(pgsecrets_key_file, pgsecrets_key_command);
}

/*
 * Every crypto entry point calls this first: it brings the ring up to date
 * and fails with an error that names the setting.
 */
void
keyring_require_loaded(void)
{
	keyring_sync_quietly();
	if (!ring_loaded)
		ereport(ERROR,
				(errcode(ERRCODE_PGSECRETS_NO_KEY),
				 errmsg("no pgsecrets root key is loaded"),
				 errdetail("%s.", load_error),
				 errhint("Point pgsecrets.key_file at a key file (for example the output of \"openssl rand -hex 32\", mode 0600) and reload the server.")));
}

uint64
keyring_generation(void)
{
	return shared != NULL ? local_generation : 0;
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

static int
primary_index(uint32 version)
{
	if (!ring_loaded)
		return -1;
	for (int i = 0; i < locked->ring.nkeys; i++)
		if (locked->ring.keys[i].version == version)
			return i;
	return -1;
}

/*
 * The fingerprints this process could use for version: the key file's
 * first, then keys a reload replaced. Returns how many (0: not loaded).
 */
int
keyring_candidates(uint32 version, unsigned char fps[][PGSECRETS_FINGERPRINT_BYTES], int max)
{
	int			i = primary_index(version);
	int			n = 0;

	if (i < 0 || max < 1)
		return 0;
	memcpy(fps[n++], locked->ring.keys[i].fingerprint, PGSECRETS_FINGERPRINT_BYTES);
	for (int j = 0; j < locked->ring.nalts && n < max; j++)
		if (locked->ring.alts[j].version == version)
			memcpy(fps[n++], locked->ring.alts[j].fingerprint, PGSECRETS_FINGERPRINT_BYTES);
	return n;
}

/* Uses candidate `which` (of keyring_candidates) for version from now on. */
void
keyring_choose(uint32 version, int which)
{
	int			i = primary_index(version);
	int			seen = 0;

	if (i < 0 || chosen[i] == which)
		return;
	chosen[i] = 0;
	for (int j = 0; j < locked->ring.nalts && which > 0; j++)
		if (locked->ring.alts[j].version == version && ++seen == which)
			chosen[i] = j + 1;
	sodium_mprotect_readwrite(locked);
	sodium_memzero(locked->cache, sizeof(locked->cache));
	sodium_mprotect_readonly(locked);
}

/* The key in use for version (after keycheck's choice), or NULL. */
static const RootKey *
root_for(uint32 version)
{
	int			i = primary_index(version);

	if (i < 0)
		return NULL;
	if (chosen[i] > 0)
		return &locked->ring.alts[chosen[i] - 1];
	return &locked->ring.keys[i];
}

/* The fingerprint of the key in use for version (zeros if none). */
void
keyring_fingerprint_in_use(uint32 version, unsigned char out[PGSECRETS_FINGERPRINT_BYTES])
{
	const RootKey *root = root_for(version);

	if (root == NULL)
		memset(out, 0, PGSECRETS_FINGERPRINT_BYTES);
	else
		memcpy(out, root->fingerprint, PGSECRETS_FINGERPRINT_BYTES);
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
 * the root key over the household id. The version must match this
 * database's recorded fingerprint (keycheck.c raises SE008 otherwise; a seal
 * records it the first time). Cached per backend in locked memory so the
 * hot path costs a check and one hash-slot comparison, not a derivation.
 */
bool
keyring_data_key(uint32 version, const pg_uuid_t *household, KeyUse use,
				 unsigned char out[PGSECRETS_KEY_BYTES])
{
	DataKeyEntry *entry;
	const RootKey *root;
	static const unsigned char zero_salt[crypto_generichash_blake2b_SALTBYTES] = {0};

	if (primary_index(version) < 0)
		return false;
	keycheck_version(version, use);
	entry = &locked->cache[cache_slot(version, household)];
	if (entry->valid && entry->version == version &&
		memcmp(entry->household.data, household->data, UUID_LEN) == 0)
	{
		memcpy(out, entry->key, PGSECRETS_KEY_BYTES);
		return true;
	}
	root = root_for(version);
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
 * that names the purpose ("pgsecrets:audit1"), so it can never equal a data
 * key. Not cached: callers (the audit chain) hash once per row.
 */
bool
keyring_subkey(uint32 version, const pg_uuid_t *household,
			   const unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES],
			   KeyUse use, unsigned char out[PGSECRETS_KEY_BYTES])
{
	static const unsigned char zero_salt[crypto_generichash_blake2b_SALTBYTES] = {0};
	const RootKey *root;

	if (primary_index(version) < 0)
		return false;
	keycheck_version(version, use);
	root = root_for(version);
	crypto_generichash_blake2b_salt_personal(out, PGSECRETS_KEY_BYTES,
											 household->data, UUID_LEN,
											 root->key, PGSECRETS_KEY_BYTES,
											 zero_salt, personal);
	return true;
}

/*
 * The prologue of every SRF that lists the loaded versions, written once:
 * a materialized result, the keyring brought up to date without raising,
 * and its versions.
 */
int
keyring_versions_for_srf(FunctionCallInfo fcinfo, uint32 *versions, bool *active)
{
	InitMaterializedSRF(fcinfo, 0);
	keyring_sync_quietly();
	return keyring_versions(versions, active, PGSECRETS_MAX_KEYS);
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

	n = keyring_versions_for_srf(fcinfo, versions, active);
	for (int i = 0; i < n; i++)
	{
		Datum		values[2] = {Int64GetDatum((int64) versions[i]), BoolGetDatum(active[i])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgsecrets_keyring_state);

/*
 * keyring_state() → one row: whether keys are shared through the postmaster
 * (preloaded), the published generation and this session's, how many
 * reloads the postmaster processed and refused, when, and the last reason.
 * Superusers only (the reason may name the key file's path).
 */
Datum
pgsecrets_keyring_state(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7] = {false};
	Published snap = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgsecrets: keyring_state must return a row");
	keyring_sync_quietly();
	if (shared != NULL)
		snapshot(&snap);
	values[0] = BoolGetDatum(shared != NULL);
	values[1] = Int64GetDatum((int64) snap.generation);
	values[2] = Int64GetDatum((int64) local_generation);
	values[3] = Int64GetDatum((int64) snap.reloads);
	values[4] = Int64GetDatum((int64) snap.refused);
	values[5] = TimestampTzGetDatum(snap.last_reload);
	nulls[5] = (snap.last_reload == 0);
	if (!ring_loaded || sync_failed)
		values[6] = CStringGetTextDatum(load_error);
	else if (shared != NULL && snap.last_error[0] != '\0')
		values[6] = CStringGetTextDatum(snap.last_error);
	else
		nulls[6] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
