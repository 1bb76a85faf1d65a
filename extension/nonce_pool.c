/*
 * nonce_pool.c — random XChaCha20 nonces without one getrandom() per value.
 *
 * libsodium's randombytes_buf() makes one getrandom() system call per call
 * here, and on the VMs we measured a system call costs ~1.3 µs: half the
 * cost of encrypt_secret() for a short value (bench/README.md). Nonces are
 * therefore drawn from a per-backend buffer refilled 4.5 KiB (192 nonces) at
 * a time from the same CSPRNG. They stay random 192-bit nonces, so the
 * XChaCha20-Poly1305 collision bound is unchanged.
 *
 * The one hazard of buffering randomness is a fork: a child that inherited
 * the buffer would hand out the parent's next nonces. The buffer therefore
 * belongs to the process that filled it (the pattern of keyring.c's
 * locked_pid) and is thrown away in any other process.
 */
#include "postgres.h"

#include <sodium.h>

#include "miscadmin.h"

#include "pgsecrets.h"

#define NONCE_POOL_BYTES (192 * 24)

static unsigned char pool[NONCE_POOL_BYTES];
static size_t pool_used = NONCE_POOL_BYTES;	/* empty until first use */
static pid_t pool_pid = 0;

/*
 * Copies len (at most NONCE_POOL_BYTES) fresh random bytes to out. Bytes
 * handed out are wiped from the pool, so a later memory disclosure shows
 * no nonce twice.
 */
void
nonce_pool_take(unsigned char *out, size_t len)
{
	Assert(len <= NONCE_POOL_BYTES);
	if (pool_pid != MyProcPid)
	{
		sodium_memzero(pool, sizeof(pool));
		pool_used = NONCE_POOL_BYTES;
		pool_pid = MyProcPid;
	}
	if (NONCE_POOL_BYTES - pool_used < len)
	{
		randombytes_buf(pool, NONCE_POOL_BYTES);
		pool_used = 0;
	}
	memcpy(out, pool + pool_used, len);
	sodium_memzero(pool + pool_used, len);
	pool_used += len;
}
