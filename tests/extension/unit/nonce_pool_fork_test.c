/*
 * The fork guard of extension/nonce_pool.c, where it matters: a process
 * fills its nonce pool, then forks. The child must not hand out the nonces
 * the parent has buffered (it would repeat the parent's next nonce, and a
 * repeated XChaCha20 nonce under one key breaks the cipher), and the parent
 * must still hand out its own.
 *
 * nonce_pool.c is compiled as it is, against stub headers (stub/): the
 * server's MyProcPid is a plain variable here, set after the fork the way
 * PostgreSQL sets it in every postmaster child.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgsecrets.h"

int MyProcPid;

#define NONCE 24

static int failures = 0;

static void
check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

int
main(void)
{
	unsigned char first[NONCE], parent_next[NONCE], child_next[NONCE];
	int			fds[2];
	pid_t		child;
	int			status;

	if (sodium_init() < 0 || pipe(fds) != 0)
		return 2;
	MyProcPid = getpid();
	nonce_pool_take(first, NONCE);	/* fills the pool: 191 nonces left in it */

	child = fork();
	if (child < 0)
		return 2;
	if (child == 0)
	{
		MyProcPid = getpid();	/* what InitPostmasterChild() does */
		nonce_pool_take(child_next, NONCE);
		_exit(write(fds[1], child_next, NONCE) == NONCE ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], child_next, NONCE) != NONCE || waitpid(child, &status, 0) != child ||
		!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		check(0, "the child handed out a nonce");
		return 1;
	}
	nonce_pool_take(parent_next, NONCE);

	check(memcmp(child_next, parent_next, NONCE) != 0,
		  "a forked child does not hand out the parent's buffered next nonce");
	check(memcmp(child_next, first, NONCE) != 0 && memcmp(parent_next, first, NONCE) != 0,
		  "no nonce is handed out twice");
	return failures == 0 ? 0 : 1;
}
